def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "sequential: schedules that build on each other; run with --leapwork-max-in-flight=1",
    )
