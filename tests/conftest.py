import resource

import pytest

from tests.functional.daemon import Daemon


@pytest.fixture
def daemons():
    """Start daemons with daemons(tmp_path, *args); every one is killed after the test."""
    started = []

    def start(directory, *args, ready=True, env=None, log_path=None, timeout=20, **popen):
        daemon = Daemon(directory, *args, env=env, log_path=log_path, **popen)
        started.append(daemon)
        if ready:
            daemon.wait_ready(timeout)
        return daemon

    yield start
    for daemon in started:
        daemon.stop()


@pytest.fixture
def room_for_sockets():
    """room_for_sockets(n): n more sockets here and in daemons started after, which inherit the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)

    def make_room(count):
        needed = count + 500
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.skip(f"the hard open-file limit {hard} is below {needed}")
        if soft != resource.RLIM_INFINITY and soft < needed:
            resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))

    yield make_room
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
