"""What a published plugin carries besides its code: the GitHub workflows and the Read the
Docs config. They cannot run here, so they are validated against the schemas check-jsonschema
ships (offline), and read for what they promise: the checks of .ci/run on every supported
Python with the oldest and the latest pytest, a release by trusted publishing on a version
tag, the MkDocs site.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / ".github" / "workflows"
CI = WORKFLOWS / "ci.yml"
RELEASE = WORKFLOWS / "release.yml"
READTHEDOCS = REPO / ".readthedocs.yaml"
CI_RUN = REPO / ".ci" / "run"
PYPROJECT = (REPO / "pyproject.toml").read_text(encoding="utf-8")


def load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def check_jsonschema(schema: str, *paths: Path) -> subprocess.CompletedProcess[str]:
    """check-jsonschema with its built-in schema, and every proxy pointing nowhere: a
    validation that tried the network would fail."""
    dead = "http://127.0.0.1:9"
    env = {**os.environ, "HTTP_PROXY": dead, "HTTPS_PROXY": dead, "NO_PROXY": ""}
    env.update({k.lower(): v for k, v in env.items() if k.endswith("PROXY")})
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *map(str, paths)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_workflows_and_readthedocs_config_validate_offline(tmp_path: Path) -> None:
    workflows = check_jsonschema("vendor.github-workflows", CI, RELEASE)
    assert workflows.returncode == 0, workflows.stdout + workflows.stderr
    readthedocs = check_jsonschema("vendor.readthedocs", READTHEDOCS)
    assert readthedocs.returncode == 0, readthedocs.stdout + readthedocs.stderr
    # The validator does reject a broken file (a misspelt key), offline too.
    broken = tmp_path / "broken.yml"
    broken.write_text(CI.read_text(encoding="utf-8").replace("runs-on:", "runs_on:"))
    rejected = check_jsonschema("vendor.github-workflows", broken)
    assert rejected.returncode == 1, rejected.stdout + rejected.stderr
    assert "runs_on" in rejected.stdout + rejected.stderr


def supported_pythons() -> list[str]:
    return re.findall(r'"Programming Language :: Python :: (3\.\d+)"', PYPROJECT)


def test_ci_workflow_runs_ci_run_on_every_python_and_pytest() -> None:
    workflow = load(CI)
    [job] = workflow["jobs"].values()
    matrix = job["strategy"]["matrix"]
    assert matrix["python"] == supported_pythons() == ["3.10", "3.11", "3.12", "3.13"]
    # The oldest pytest the package allows, and the latest.
    floor = re.search(r'"pytest>=(\d+\.\d+)"', PYPROJECT)
    assert floor is not None
    assert matrix["pytest"] == [floor.group(1), "latest"]
    steps = job["steps"]
    setup = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python@"))
    assert setup["with"]["python-version"] == "${{ matrix.python }}"
    # The steps are .ci/run's: the workflow calls it and adds none of its own.
    runs = [s["run"] for s in steps if "run" in s]
    assert runs == ["bash .ci/run"]
    [call] = [s for s in steps if "run" in s]
    assert call["env"]["CI_PYTEST"] == "${{ matrix.pytest }}"
    # The release workflow reuses it.
    assert "workflow_call" in workflow[True]  # YAML 1.1 reads the key "on" as True


def test_ci_run_takes_each_pytest_of_the_matrix() -> None:
    script = CI_RUN.read_text(encoding="utf-8")
    for version in load(CI)["jobs"]["checks"]["strategy"]["matrix"]["pytest"]:
        assert re.search(rf"^\s+{re.escape(version)}\)$", script, re.M), version
    assert "${CI_PYTEST:-latest 8.0}" in script
    assert "pytest==8.0.*" in script
    # Anything else is refused, not taken for "no suite at all".
    assert re.search(r"^\s+\*\)\n.*CI_PYTEST: expected latest or 8\.0.*\n\s+exit 2", script, re.M)


def test_release_workflow_publishes_on_a_version_tag_with_trusted_publishing() -> None:
    workflow = load(RELEASE)
    assert workflow[True] == {"push": {"tags": ["v*"]}}
    jobs = workflow["jobs"]
    assert jobs["checks"]["uses"] == "./.github/workflows/ci.yml"
    assert jobs["build"]["needs"] == "checks"
    build = "\n".join(s.get("run", "") for s in jobs["build"]["steps"])
    assert "python -m build" in build and "twine check --strict dist/*" in build
    assert "__version__" in build and "GITHUB_REF_NAME" in build
    publish = jobs["publish"]
    assert publish["needs"] == "build"
    assert publish["permissions"] == {"id-token": "write"}
    assert publish["environment"]["name"] == "pypi"
    uses = [s.get("uses", "") for s in publish["steps"]]
    assert "pypa/gh-action-pypi-publish@release/v1" in uses
    # No token anywhere: trusted publishing needs none.
    assert "password" not in RELEASE.read_text(encoding="utf-8")
    assert "secrets." not in RELEASE.read_text(encoding="utf-8")
    # Only the publishing job may ask for an OIDC token.
    assert workflow["permissions"] == {"contents": "read"}


def test_readthedocs_builds_the_mkdocs_site() -> None:
    config = load(READTHEDOCS)
    assert config["version"] == 2
    assert (REPO / config["mkdocs"]["configuration"]).is_file()
    assert config["mkdocs"]["fail_on_warning"] is True
    [install] = config["python"]["install"]
    assert install == {"method": "pip", "path": ".", "extra_requirements": ["docs"]}
    assert config["build"]["tools"]["python"] in supported_pythons()
    assert re.search(
        r'^Documentation = "https://pytest-leapwork\.readthedocs\.io/"', PYPROJECT, re.M
    )


@pytest.mark.parametrize("path", [CI, RELEASE, READTHEDOCS, CI_RUN])
def test_config_files_are_in_the_sdist(path: Path) -> None:
    """The sdist carries the tests; the tests read these files."""
    include = re.search(
        r"\[tool\.hatch\.build\.targets\.sdist\]\ninclude = \[([^\]]*)\]", PYPROJECT
    )
    assert include is not None
    entries = re.findall(r'"([^"]+)"', include.group(1))
    relative = path.relative_to(REPO).as_posix()
    assert any(relative == e or relative.startswith(e.rstrip("/") + "/") for e in entries)
