"""Every functional test runs once with each worker model, with the same assertions.

Tests marked `any_model` concern what happens before any worker serves
(the command line, the sample config) and run once; tests marked
`worker_models("eventlet")` are of one model's own behaviour.
"""

import pytest

from tests.functional import daemon

WORKER_MODELS = ("eventlet", "threads")


def pytest_generate_tests(metafunc):
    definition = metafunc.definition
    if ("worker_model" not in metafunc.fixturenames
            or definition.get_closest_marker("any_model")):
        return
    chosen = definition.get_closest_marker("worker_models")
    metafunc.parametrize("worker_model", chosen.args if chosen else WORKER_MODELS,
                         indirect=True)


@pytest.fixture(autouse=True)
def worker_model(request, monkeypatch):
    """The worker model of the apps this test's daemons serve (None: the default, for `any_model` tests)."""
    model = getattr(request, "param", None)
    monkeypatch.setattr(daemon, "WORKER_MODEL", model)
    return model


@pytest.fixture(scope="module")
def shared_daemon(tmp_path_factory):
    """shared_daemon(start): one daemon per worker model that a module's tests share.

    start(directory) writes the config there and returns the Daemon it
    started; it is called once per worker model (the module-scoped fixture
    cannot see the function-scoped model, so each test asks with its own),
    waited for, and stopped once the module's tests are done.
    """
    started = {}

    def shared(start):
        model = daemon.WORKER_MODEL
        if model not in started:
            directory = tmp_path_factory.mktemp(f"shared-{model or 'default'}")
            started[model] = start(directory)
            started[model].wait_ready()
        return started[model]

    yield shared
    for one in started.values():
        one.stop()
