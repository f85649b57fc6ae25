def pytest_configure(config):
    config.addinivalue_line("markers", "network: needs the package registry (skips cleanly without it)")
