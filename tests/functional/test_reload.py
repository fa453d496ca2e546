"""SIGHUP: a new generation from the files as they are now; the old one drains; nothing is lost."""

import json
import os
import re
import signal
import socket
import textwrap

import pytest

from tests.functional.daemon import (free_port, port_is_closed, wait_until,
                                     write_config)
from tests.functional.load import Load

PASTE = """
    [app:hello]
    paste.app_factory = tests.fixture_apps:hello_factory

    [app:versioned]
    paste.app_factory = reloadable:factory

    [app:refusing]
    paste.app_factory = tests.fixture_apps:refusing_factory

    [app:slow]
    paste.app_factory = tests.fixture_apps:slow_build_factory
    seconds = 1
"""


def write_app_code(directory, version):
    (directory / "reloadable.py").write_text(textwrap.dedent(f"""
        def factory(global_conf, **local_conf):
            def app(environ, start_response):
                start_response("200 OK", [("Content-Type", "text/plain")])
                return [b"{version}"]
            return app
    """))


@pytest.fixture
def start(tmp_path, daemons):
    """start(apps, paste=PASTE, defaults=None) -> a ready daemon whose config can be rewritten."""
    write_app_code(tmp_path, "version one")
    env = {"PYTHONPATH": f"{os.environ.get('PYTHONPATH', '')}:{tmp_path}",
           "PYTHONDONTWRITEBYTECODE": "1"}

    def start_daemon(apps, paste=PASTE, defaults=None):
        conf = write_config(tmp_path, apps, paste, defaults)
        daemon = daemons(tmp_path, "--config-file", conf, env=_with_repo(env))
        daemon.rewrite = lambda apps, paste=PASTE, defaults=None: write_config(
            tmp_path, apps, paste, defaults)
        daemon.directory = tmp_path
        return daemon

    return start_daemon


def _with_repo(env):
    from tests.functional.daemon import REPO
    return dict(env, PYTHONPATH=f"{REPO}:{env['PYTHONPATH']}")


def reload(daemon, count):
    """HUP, then wait for the count-th completed reload."""
    daemon.signal(signal.SIGHUP)
    daemon.wait_for_log(r"Reload complete", count=count, timeout=20)
    daemon.urls = daemon.listening()


def test_reload_builds_new_application_code(start, tmp_path):
    daemon = start({"versioned": {"workers": 2}})
    assert daemon.get("versioned")[2] == b"version one"
    old_workers = set(daemon.workers())
    assert len(old_workers) == 2
    write_app_code(tmp_path, "version two, reloaded")
    reload(daemon, 1)
    # Old workers stop accepting once their TERM arrives, a moment after the
    # hand-over is logged.
    wait_until(lambda: not old_workers & set(daemon.workers()),
               message="the old generation to exit")
    assert len(daemon.workers()) == 2
    for _ in range(10):
        assert daemon.get("versioned")[2] == b"version two, reloaded"


def test_reload_rebuilds_the_paste_pipeline(start):
    daemon = start({"hello": {}})
    assert "X-Marker" not in daemon.get("hello")[1]
    daemon.rewrite({"hello": {}}, PASTE.replace(
        "[app:hello]", "[pipeline:hello]\n    pipeline = marker plain\n\n"
        "    [filter:marker]\n    paste.filter_factory = "
        "tests.fixture_apps:marker_filter_factory\n    marker = new\n\n"
        "    [app:plain]"))
    old_workers = set(daemon.workers())
    assert len(old_workers) == 1
    reload(daemon, 1)
    wait_until(lambda: not old_workers & set(daemon.workers()),
               message="the old generation to exit")
    assert daemon.get("hello")[1]["X-Marker"] == "new"


def test_apps_added_removed_moved_and_resized(start):
    daemon = start({"hello": {"workers": 1}, "versioned": {}})
    hello_port = daemon.address("hello")[1]
    versioned_host, versioned_port = daemon.address("versioned")
    assert len(daemon.workers("versioned")) == 1
    moved_port = free_port()
    daemon.rewrite({"hello": {"port": moved_port, "workers": 3},
                    "slow": {"workers": 2}})
    reload(daemon, 1)
    assert daemon.address("hello")[1] == moved_port
    assert daemon.get("hello")[0] == 200
    assert daemon.get("slow")[0] == 200
    wait_until(lambda: len(daemon.workers("hello")) == 3
               and not daemon.workers("versioned"),
               message="the new worker counts")
    assert len(daemon.workers("slow")) == 2
    assert port_is_closed("127.0.0.1", hello_port)
    assert port_is_closed(versioned_host, versioned_port)


INVALID = {
    "config syntax": lambda d, busy: d.rewrite({"hello": {}}, defaults={"[broken": ""}),
    "invalid option": lambda d, busy: d.rewrite({"hello": {"port": "nope"}}),
    "misspelt option": lambda d, busy: d.rewrite({"hello": {"listne": "127.0.0.2"}}),
    "unknown worker model": lambda d, busy: d.rewrite({"hello": {"worker_model": "fibers"}}),
    "factory raises": lambda d, busy: d.rewrite({"hello": {}, "refusing": {}}),
    "paste file gone": lambda d, busy: d.rewrite(
        {"hello": {}}, defaults={"api_paste_config": "gone.ini"}),
    "port in use": lambda d, busy: d.rewrite({"hello": {}, "versioned": {"port": busy}}),
    "paste file not utf-8": lambda d, busy: _append_bytes(
        d.directory / "api-paste.ini", b"# caf\xe9 in latin-1\n"),
}


def _append_bytes(path, data):
    path.write_bytes(path.read_bytes() + data)


@pytest.mark.parametrize("break_config", INVALID.values(), ids=INVALID)
def test_invalid_reload_keeps_serving_exactly_as_before(start, break_config):
    daemon = start({"hello": {"workers": 2}})
    workers = set(daemon.workers())
    assert len(workers) == 2
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        break_config(daemon, busy.getsockname()[1])
        with Load(daemon.address("hello"), keep_alive=2, fresh=2) as load:
            daemon.signal(signal.SIGHUP)
            daemon.wait_for_log(r"Reload failed, generation 1 keeps serving: ")
            load.wait_for_served(50)
    assert load.failures == []
    # The serving workers are the same processes; a worker the abandoned
    # reload had started (and had begun to serve) finishes and goes.
    assert workers <= set(daemon.workers())
    wait_until(lambda: set(daemon.workers()) == workers,
               message="the abandoned generation's workers to exit")
    assert daemon.process.poll() is None
    # A later valid reload works as usual.
    daemon.rewrite({"hello": {"workers": 1}})
    reload(daemon, 1)
    wait_until(lambda: len(daemon.workers()) == 1, message="one worker")


def test_twenty_reloads_under_load_lose_no_request(start):
    daemon = start({"hello": {"workers": 2}})
    with Load(daemon.address("hello"), keep_alive=4, fresh=4) as load:
        for count in range(1, 21):
            reload(daemon, count)
            load.wait_for_served(20)
    assert load.failures == []
    assert load.served > 400


def test_hup_during_a_reload_replaces_it(start):
    daemon = start({"slow": {"workers": 2}})
    with Load(daemon.address("slow"), keep_alive=2, fresh=2) as load:
        daemon.signal(signal.SIGHUP)
        daemon.wait_for_log(r"slow_build: building", count=4)
        daemon.signal(signal.SIGHUP)
        daemon.wait_for_log(r"Reload complete: generation 3 is serving", timeout=20)
        load.wait_for_served(50)
    assert "The reload to generation 2 is replaced by this one" in daemon.log()
    assert "Reload failed" not in daemon.log()
    assert "Reload complete: generation 2" not in daemon.log()
    assert load.failures == []
    wait_until(lambda: len(daemon.workers()) == 2, message="two workers")


def test_term_during_a_reload_stops_cleanly(start):
    daemon = start({"slow": {"workers": 2}})
    workers_before = set(daemon.workers())
    daemon.signal(signal.SIGHUP)
    daemon.wait_for_log(r"slow_build: building", count=4)
    all_workers = set(daemon.workers()) | workers_before
    assert len(workers_before) == 2 and len(all_workers) == 4
    daemon.signal(signal.SIGTERM)
    assert daemon.wait_exit() == 0
    from tests.functional.daemon import pid_alive
    wait_until(lambda: not any(pid_alive(pid) for pid in all_workers),
               message="every worker to exit")


def test_hup_during_a_stop_is_ignored(start):
    from tests.functional.test_stop import SlowRequest
    paste = PASTE + """
    [app:sleepy]
    paste.app_factory = tests.fixture_apps:sleepy_factory
    """
    daemon = start({"sleepy": {}}, paste=paste)
    slow = SlowRequest(daemon, 1)
    daemon.wait_for_log(r"sleepy: sleeping")
    daemon.signal(signal.SIGTERM)
    daemon.wait_for_log(r"stopping gracefully")
    daemon.signal(signal.SIGHUP)
    assert daemon.wait_exit() == 0
    assert "SIGHUP during the stop: not reloading" in daemon.log()
    slow.join(10)
    assert slow.result[0] == 200


def test_killed_worker_under_load_fails_only_its_in_flight_requests(start):
    daemon = start({"hello": {"workers": 2}})
    with Load(daemon.address("hello"), keep_alive=0, fresh=4) as load:
        load.wait_for_served(100)
        victim = min(daemon.workers())
        os.kill(victim, signal.SIGKILL)
        daemon.wait_for_log(rf"Worker {victim} of app hello")
        wait_until(lambda: len(daemon.workers()) == 2, message="a replacement")
        failed_at_kill = len(load.failures)
        load.wait_for_served(200)
    # At most one request in flight per client thread could have been on it.
    assert failed_at_kill <= 4
    assert len(load.failures) == failed_at_kill


def test_graceful_shutdown_timeout_bounds_the_old_generations_drain(start):
    from tests.functional.test_stop import SlowRequest
    paste = PASTE + """
    [app:sleepy]
    paste.app_factory = tests.fixture_apps:sleepy_factory
    """
    daemon = start({"sleepy": {}}, paste=paste,
                   defaults={"graceful_shutdown_timeout": 1})
    (old_worker,) = daemon.workers()
    slow = SlowRequest(daemon, 60)
    daemon.wait_for_log(r"sleepy: sleeping 60")
    daemon.rewrite({"sleepy": {}}, paste=paste,
                   defaults={"graceful_shutdown_timeout": 1})
    reload(daemon, 1)
    daemon.wait_for_log(rf"Worker {old_worker} of app sleepy \(generation 1\) "
                        r"stopped: was killed by signal SIGKILL")
    assert "graceful_shutdown_timeout passed: killing 1 worker(s)" in daemon.log()
    slow.join(10)
    assert slow.result is None
    assert daemon.get("sleepy", "/?seconds=0")[0] == 200
    assert "keeps losing workers" not in daemon.log()


def test_hup_after_hup_never_stops_the_daemon(start):
    # A second HUP retires workers forked a moment earlier; their TERM must
    # reach them, not the supervisor.
    daemon = start({f"app{n}": {} for n in range(6)},
                   paste=PASTE + "".join(
                       f"\n    [app:app{n}]\n    use = call:tests.fixture_apps:hello_factory\n"
                       for n in range(6)))
    for count in range(1, 16):
        daemon.signal(signal.SIGHUP)
        daemon.signal(signal.SIGHUP)
        daemon.wait_for_log(r"Reload complete", count=count, timeout=20)
    assert "SIGTERM received" not in daemon.log()
    assert daemon.process.poll() is None
    assert daemon.get("app0", "/")[0] == 200


def test_an_abandoned_reloads_workers_finish_what_they_serve(start):
    from tests.functional.test_stop import SlowRequest
    paste = PASTE + """
    [app:sleepy]
    paste.app_factory = tests.fixture_apps:sleepy_factory

    [app:late]
    paste.app_factory = tests.fixture_apps:slow_refusing_factory
    seconds = 4
    """
    daemon = start({"sleepy": {"workers": 2}}, paste=paste,
                   defaults={"debug": "true"})
    daemon.rewrite({"sleepy": {"workers": 2}, "late": {}}, paste=paste,
                   defaults={"debug": "true"})
    daemon.signal(signal.SIGHUP)
    daemon.wait_for_log(r"Worker \d+ of app sleepy is serving", count=4)
    new_workers = {int(pid) for pid in re.findall(
        r"Worker (\d+) of app sleepy is serving", daemon.log())[2:]}
    # Both generations accept on the port, whoever wakes first: requests
    # go out one at a time, each seen sleeping, until one sleeps in the
    # pending generation (the old workers, already polling, often win the
    # first ones), all before the late app's build fails.
    slow = []

    def sleeping_in():
        return {int(pid) for pid in re.findall(r"sleepy: sleeping 4\S* in (\d+)", daemon.log())}

    while not sleeping_in() & new_workers and len(slow) < 20:
        slow.append(SlowRequest(daemon, 4))
        daemon.wait_for_log(r"sleepy: sleeping 4", count=len(slow))
    daemon.wait_for_log(r"Reload failed, generation 1 keeps serving: .*late", timeout=20)
    for request in slow:
        request.join(20)
    assert [request.result[0] for request in slow] == [200] * len(slow)
    served_by = {int(request.result[1]["X-Worker-Pid"]) for request in slow}
    assert served_by & new_workers, "no request reached the abandoned generation"


REJECTED = {
    "paste ini": lambda daemon, paste: daemon.rewrite(
        {"greeter": {}}, paste=paste.replace(
            "tests.fixture_apps:hello_factory", "tests.fixture_apps:refusing_factory")),
    "config file": lambda daemon, paste: _append_bytes(
        daemon.directory / "svc.conf", b"\nthis line is not ini\n"),
}


@pytest.mark.parametrize("reject", REJECTED.values(), ids=REJECTED)
def test_after_a_rejected_reload_a_replacement_builds_from_the_serving_files(start, reject):
    paste = PASTE + """
    [app:greeter]
    paste.app_factory = tests.fixture_apps:hello_factory
    text = from the serving generation
    """
    daemon = start({"greeter": {}}, paste=paste)
    status, headers, body = daemon.get("greeter")
    assert body == b"from the serving generation\n"
    reject(daemon, paste)
    daemon.signal(signal.SIGHUP)
    daemon.wait_for_log(r"Reload failed, generation 1 keeps serving: ")
    victim = int(headers["X-Worker-Pid"])
    os.kill(victim, signal.SIGKILL)
    daemon.wait_for_log(rf"Worker {victim} of app greeter")

    def replaced():
        try:
            status, headers, body = daemon.get("greeter")
        except OSError:
            return None
        return int(headers["X-Worker-Pid"]) != victim and (status, body)
    assert wait_until(replaced, timeout=20, message="a replacement") == (
        200, b"from the serving generation\n")
    assert "of app greeter failed" not in daemon.log()


RUNTIME_PASTE = """
    [app:runtime]
    paste.app_factory = tests.fixture_apps:runtime_factory
"""


@pytest.mark.any_model
@pytest.mark.parametrize("first, then", [("eventlet", "threads"), ("threads", "eventlet")])
def test_an_app_moves_between_worker_models_on_reload_under_load(start, first, then):
    daemon = start({"runtime": {"workers": 2, "worker_model": first}}, RUNTIME_PASTE)
    assert (json.loads(daemon.get("runtime")[2])["eventlet_modules"] == []) is (
        first == "threads")
    with Load(daemon.address("runtime"), keep_alive=4, fresh=4) as load:
        load.wait_for_served(20)
        daemon.rewrite({"runtime": {"workers": 2, "worker_model": then}}, RUNTIME_PASTE)
        reload(daemon, 1)
        load.wait_for_served(50)
    assert load.failures == []
    # Every worker now runs the new model, on the same socket.
    wait_until(lambda: len(daemon.workers("runtime")) == 2, message="two workers")
    for _ in range(10):
        facts = json.loads(daemon.get("runtime")[2])
        assert (facts["eventlet_modules"] == []) is (then == "threads")
