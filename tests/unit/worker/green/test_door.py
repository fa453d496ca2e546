"""service.worker.green.door, the worker's one door to eventlet: every name and behaviour it relies on, against the installed eventlet.

An eventlet release that renames, removes or changes one of them fails
here, in this module only, with the name of what changed. The behaviours
(door.py's docstring lists them) run in a process of their own, with a
real hub, green threads and sockets (door_probes.py).
"""

import ast
import inspect
import json
import os
import subprocess
import sys
import warnings

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import eventlet
    import eventlet.wsgi
    from eventlet import greenio
    from eventlet import hubs

import service
from service.worker.green import door as green
from tests.unit.worker.green import door_probes as green_probes


@pytest.fixture(scope="module")
def probes():
    """The outcome of every probe, from one process of their own."""
    result = subprocess.run([sys.executable, "-m", "tests.unit.worker.green.door_probes"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("name", sorted(green_probes.PROBES))
def test_behaviour(probes, name):
    assert probes[name] == "ok", probes[name]


def test_eventlet_is_the_series_setup_cfg_pins():
    # setup.cfg: eventlet>=0.41,<0.42. Moving the pin means running these first.
    assert eventlet.__version__.startswith("0.41."), eventlet.__version__


def test_the_server_takes_the_arguments_serve_gives_it():
    parameters = inspect.signature(eventlet.wsgi.server).parameters
    assert list(parameters)[:2] == ["sock", "site"]
    for name in ("protocol", "custom_pool", "log", "debug"):
        assert name in parameters, name


@pytest.mark.parametrize("name", [
    "sleep", "spawn", "spawn_n", "monkey_patch", "Timeout"])
def test_eventlet_names(name):
    assert callable(getattr(eventlet, name))


def test_the_names_green_takes_as_they_are():
    assert green.sleep is eventlet.sleep and green.spawn is eventlet.spawn
    assert green.Timeout is eventlet.Timeout
    assert issubclass(green.Timeout, BaseException) and not issubclass(green.Timeout, Exception)
    assert callable(green.Event) and callable(green.Semaphore)
    assert callable(green.current_green_thread) and callable(green.native_thread_id)


def test_the_hub_names():
    for name in ("trampoline", "get_hub", "IOClosed", "notify_opened"):
        assert hasattr(hubs, name), name
    hub = hubs.get_hub()
    for name in ("READ", "add", "remove", "schedule_call_global"):
        assert hasattr(hub, name), name


def test_the_names_apps_and_clients_meet():
    assert issubclass(green.ChunkReadError, ValueError)
    assert green.ChunkReadError is eventlet.wsgi.ChunkReadError
    assert issubclass(green.TlsClosed, BaseException)
    assert green.TlsClosed is greenio.SSL.ZeroReturnError
    assert hasattr(eventlet.wsgi, "WSGI_LOCAL")


def test_no_private_name_of_eventlet_is_used():
    source = inspect.getsource(green)
    for module in ("eventlet", "wsgi", "hubs", "greenio", "patcher", "event",
                   "semaphore", "green_select", "greenlet"):
        assert f"{module}._" not in source.replace("green._Accepted", ""), module


def test_the_door_is_the_only_module_that_imports_eventlet_or_greenlet():
    importers = set()
    root = os.path.dirname(service.__file__)
    for directory, _, names in os.walk(root):
        for name in names:
            if name.endswith(".py"):
                path = os.path.join(directory, name)
                with open(path) as f:
                    tree = ast.parse(f.read())
                for node in ast.walk(tree):
                    modules = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                               else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                    if any(module.split(".")[0] in ("eventlet", "greenlet") for module in modules):
                        importers.add(os.path.relpath(path, os.path.dirname(root)))
    assert importers == {os.path.join("service", "worker", "green", "door.py")}


# A worker's start as far as green_the_process(): the supervisor's imports
# and logging, then the patch. It freezes what is there (the collector no
# longer looks at it, so eventlet's own look for locks it could not green
# sees none of it): here, the look made after unfreezing finds none either.
_PATCHED_WORKER = """
import gc, threading, warnings
warnings.simplefilter("ignore")
from oslo_config import cfg
from service import conf as service_conf, logs
import service.cmd.api
conf = cfg.ConfigOpts()
service_conf.parse_args(conf, [])
logs.setup(conf)
native_rlock = type(threading.RLock())
from service.worker.green import door as green
green.green_the_process()
frozen = gc.get_freeze_count()
import weakref
class Cycle:
    pass
later = Cycle()
later.me = later
gone = weakref.ref(later)
del later
gc.collect()
later_collected = gone() is None
gc.unfreeze()
print(frozen, sum(isinstance(o, native_rlock) for o in gc.get_objects()),
      later_collected)
"""


def test_the_patch_freezes_what_came_before_it_and_leaves_no_native_lock():
    result = subprocess.run([sys.executable, "-c", _PATCHED_WORKER],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    frozen, native_rlocks, later_collected = result.stdout.split()
    assert int(frozen) > 10000
    assert native_rlocks == "0"
    assert later_collected == "True"
