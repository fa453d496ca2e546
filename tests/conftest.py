import pytest

from tests.functional.daemon import Daemon


@pytest.fixture
def daemons():
    """Start daemons with daemons(tmp_path, *args); every one is killed after the test."""
    started = []

    def start(directory, *args, ready=True, env=None, log_path=None, timeout=20):
        daemon = Daemon(directory, *args, env=env, log_path=log_path)
        started.append(daemon)
        if ready:
            daemon.wait_ready(timeout)
        return daemon

    yield start
    for daemon in started:
        daemon.stop()
