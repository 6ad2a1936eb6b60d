"""Variables computed from other fixtures: override leapwork_variables."""

import os
from dataclasses import dataclass

import pytest


@dataclass
class Deployment:
    url: str


@pytest.fixture(scope="session")
def deployment():
    # Stands for whatever your session sets up: a deployment, a test tenant, a feature flag.
    return Deployment(url=os.environ.get("DEPLOY_URL", "https://staging.example.com"))


@pytest.fixture
def leapwork_variables(deployment):
    # Merged over the marker's variables, like a parametrized value.
    return {"URL": deployment.url}
