"""app_build_timeout: a factory that never returns fails a start, or abandons a reload, instead of holding it for ever."""

import signal
import time

from tests.functional.daemon import listening_ports, wait_until, write_config
from tests.functional.test_config_errors import assert_config_error

PASTE = """
    [app:hello]
    paste.app_factory = tests.fixture_apps:hello_factory

    [app:hanging]
    paste.app_factory = tests.fixture_apps:hanging_factory
"""


def test_a_build_past_app_build_timeout_fails_the_start_naming_the_app(tmp_path):
    conf = write_config(tmp_path, {"hello": {}, "hanging": {}}, PASTE,
                        {"app_build_timeout": 2})
    started = time.monotonic()
    assert_config_error(tmp_path, conf, "app hanging: building it from ",
                        "took longer than app_build_timeout (2 s)")
    assert time.monotonic() - started < 15


def test_a_build_past_app_build_timeout_abandons_the_reload(tmp_path, daemons):
    conf = write_config(tmp_path, {"hello": {}}, PASTE, {"app_build_timeout": 2})
    daemon = daemons(tmp_path, "--config-file", conf)
    serving = daemon.workers("hello")
    write_config(tmp_path, {"hello": {}, "hanging": {"listen": "127.0.0.1", "port": 0}},
                 PASTE, {"app_build_timeout": 2})
    daemon.signal(signal.SIGHUP)
    daemon.wait_for_log(r"ERROR .*Reload failed, generation 1 keeps serving: app hanging: "
                        r"building it from \S+ took longer than app_build_timeout \(2 s\)",
                        timeout=15)
    assert daemon.get("hello")[0] == 200
    # The reload's workers go (the hung builder killed), the serving one stays.
    wait_until(lambda: daemon.workers() == serving, message="the reload's workers gone")
    # The port the reload bound for it is closed.
    port = int(daemon.listening()["hanging"].rpartition(":")[2])
    assert all(port not in listening_ports(pid) for pid in [daemon.pid, *daemon.workers()])
