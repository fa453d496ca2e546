"""--check-config: a start's checks, no serving; exit 0 and a table, or 1 and a start's error."""

import os
import re
import socket
import subprocess
import textwrap

import pytest

from tests.functional.daemon import (REPO, SERVICE_API, free_port, model_groups,
                                     pid_alive, port_is_closed, write_config)
from tests.functional.test_config_errors import CASES
from tests.functional.test_config_errors import PASTE as ERROR_PASTE
from tests.functional.test_config_errors import error_lines

# Every kind of paste section the table describes, built from a module in
# tmp_path that records which process built it.
PASTE = """
    [app:plain]
    paste.app_factory = recorder:app_factory

    [pipeline:piped]
    pipeline = first second plain

    [filter-app:wrapped]
    paste.filter_factory = recorder:filter_factory
    next = plain

    [composite:mapped]
    use = egg:Paste#urlmap
    / = plain
    /v1 = piped
    /Other = config:%(here)s/other.ini#elsewhere

    [filter:first]
    paste.filter_factory = recorder:filter_factory

    [filter:second]
    paste.filter_factory = recorder:filter_factory
"""

OTHER_PASTE = """
[app:elsewhere]
paste.app_factory = recorder:app_factory
"""

RECORDER = """
    import os

    def app_factory(global_conf, **local_conf):
        with open(os.path.join(global_conf["here"], "builders"), "a") as f:
            f.write(f"{os.getpid()} {os.getppid()}\\n")
        return lambda environ, start_response: []

    def filter_factory(global_conf, **local_conf):
        return lambda app: app
"""

OTHER_APP = "[app:other]\nuse = call:tests.fixture_apps:hello_factory\n"

KILLER = """
    import os
    import signal

    def factory(global_conf, **local_conf):
        os.kill(os.getpid(), signal.SIGKILL)
"""


def check(directory, *args, env=None):
    """Run service-api --check-config to its exit; return (status, stdout, stderr lines, pid)."""
    environ = {"PYTHONPATH": f"{REPO}:{directory}", "PATH": "/usr/bin:/bin",
               "PYTHONDONTWRITEBYTECODE": "1", **(env or {})}
    process = subprocess.Popen(
        SERVICE_API + ["--check-config"] + list(args), cwd=directory,
        env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Only a guard against a hang: a loaded machine may take long to start Python.
        stdout, stderr = process.communicate(timeout=90)
    finally:
        process.kill()
    return (process.returncode, stdout.splitlines(), stderr.splitlines(),
            process.pid)


def start(directory, conf):
    """Run a real start to its exit (it fails): return the output lines."""
    result = subprocess.run(
        SERVICE_API + ["--config-file", conf], cwd=directory,
        capture_output=True, text=True, timeout=30,
        env={"PYTHONPATH": REPO, "PATH": "/usr/bin:/bin"})
    assert result.returncode == 1
    return (result.stdout + result.stderr).splitlines()


@pytest.fixture
def recorded(tmp_path):
    """A config serving every kind of section on free ports: (conf, ports)."""
    (tmp_path / "recorder.py").write_text(textwrap.dedent(RECORDER))
    (tmp_path / "other.ini").write_text(OTHER_PASTE)
    ports = {name: free_port() for name in ("plain", "piped", "wrapped", "mapped")}
    conf = write_config(tmp_path, {name: {"port": port, "workers": 3}
                                   for name, port in ports.items()}, PASTE)
    return conf, ports


def test_good_config_prints_the_table_and_exits_0(tmp_path, recorded):
    conf, ports = recorded
    status, out, err, _ = check(tmp_path, "--config-file", conf)
    assert status == 0, out + err
    assert re.split(r"\s{2,}", out[0]) == ["app", "address", "workers",
                                           "paste section"]
    rows = {row[0]: row[1:] for row in (re.split(r"\s{2,}", line)
                                        for line in out[1:])}
    url = "http://127.0.0.1:{}".format
    assert rows["plain"] == [url(ports["plain"]), "3",
                             "app: recorder:app_factory"]
    assert rows["piped"] == [url(ports["piped"]), "3",
                             "pipeline: first -> second -> plain"]
    assert rows["wrapped"] == [url(ports["wrapped"]), "3",
                               "filter-app: recorder:filter_factory -> plain"]
    assert rows["mapped"] == [url(ports["mapped"]), "3",
                              "composite: egg:Paste#urlmap"]
    # The composite's urlmap mounts follow its row, paths in their own case,
    # values as the ini spells them.
    mapped_row = out.index(next(line for line in out if line.startswith("mapped")))
    assert [re.split(r"\s+-> ", line.strip(), maxsplit=1)
            for line in out[mapped_row + 1:mapped_row + 4]] == [
        ["/", "plain (app: recorder:app_factory)"],
        ["/v1", "piped (pipeline: first -> second -> plain)"],
        ["/Other", "config:%(here)s/other.ini#elsewhere"]]
    assert out[-1] == "Configuration OK: 4 app(s) built, every address can be bound."
    assert err == []


def test_apps_are_built_in_children_and_nothing_is_left(tmp_path, recorded):
    conf, ports = recorded
    status, out, err, check_pid = check(tmp_path, "--config-file", conf)
    assert status == 0, out + err
    builders = [line.split() for line in (tmp_path / "builders").read_text().splitlines()]
    # Each app built in a child of its own, never in the check itself.
    assert {int(parent) for _, parent in builders} == {check_pid}
    assert len({pid for pid, _ in builders}) == 4
    assert not any(pid_alive(int(pid)) for pid, _ in builders)
    assert all(port_is_closed("127.0.0.1", port) for port in ports.values())


@pytest.mark.parametrize("apps, defaults, expected", CASES.values(), ids=CASES)
def test_each_error_is_the_line_a_start_prints(tmp_path, apps, defaults, expected):
    if "good" in apps and "port" not in apps["good"]:
        apps["good"]["port"] = free_port()
    conf = write_config(tmp_path, apps, ERROR_PASTE, defaults)
    status, out, err, _ = check(tmp_path, "--config-file", conf)
    assert status == 1
    assert out == []
    assert err == error_lines(start(tmp_path, conf))
    assert len(err) == 1 and all(text in err[0] for text in expected), err


def test_address_in_use_is_the_error_a_start_prints(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        good_port, busy_port = free_port(), busy.getsockname()[1]
        conf = write_config(tmp_path, {"good": {"port": good_port},
                                       "other": {"port": busy_port}},
                            ERROR_PASTE + OTHER_APP)
        status, out, err, _ = check(tmp_path, "--config-file", conf)
        assert status == 1
        assert err == error_lines(start(tmp_path, conf))
    assert len(err) == 1
    assert f"app other: cannot listen on 127.0.0.1:{busy_port}: address already in use" in err[0]
    assert port_is_closed("127.0.0.1", good_port)


def test_a_taken_metrics_port_is_the_error_a_start_prints(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        busy_port = busy.getsockname()[1]
        conf = write_config(tmp_path, {"good": {"port": free_port()}}, ERROR_PASTE,
                            {"metrics_port": busy_port})
        status, out, err, _ = check(tmp_path, "--config-file", conf)
        assert status == 1
        assert err == error_lines(start(tmp_path, conf))
    assert f"metrics_port: cannot listen on 127.0.0.1:{busy_port}: address already in use" \
        in err[0]


def test_two_apps_on_one_address(tmp_path):
    port = free_port()
    conf = write_config(tmp_path, {"good": {"port": port}, "other": {"port": port}},
                        ERROR_PASTE + OTHER_APP)
    status, _, err, _ = check(tmp_path, "--config-file", conf)
    assert status == 1
    assert err == error_lines(start(tmp_path, conf))
    assert "already the address of app good" in err[0]


def test_missing_config_file(tmp_path):
    status, out, err, _ = check(tmp_path, "--config-file", "nowhere.conf")
    assert status == 1
    assert out == [] and len(err) == 1 and "nowhere.conf" in err[0]


def test_app_whose_build_kills_its_process(tmp_path):
    (tmp_path / "killer.py").write_text(textwrap.dedent(KILLER))
    conf = write_config(tmp_path, {"good": {"port": free_port()}, "killed": {}},
                        ERROR_PASTE + "[app:killed]\npaste.app_factory = killer:factory\n")
    status, out, err, _ = check(tmp_path, "--config-file", conf)
    assert status == 1
    assert out == []
    assert err == [f"service-api: error: app killed: building it from "
                   f"{tmp_path}/api-paste.ini failed: the process building it "
                   "was killed by signal SIGKILL"]


def test_debug_shows_the_build_traceback(tmp_path):
    conf = write_config(tmp_path, {"good": {"port": free_port()}, "refusing": {}},
                        ERROR_PASTE)
    status, out, err, _ = check(tmp_path, "--config-file", conf, "--debug")
    assert status == 1
    # oslo.log writes to stdout unless told otherwise.
    assert re.search(r"Traceback[\s\S]*ValueError: factory refused to build",
                     "\n".join(out))


def test_the_sample_config_checks(tmp_path):
    override = tmp_path / "ports.conf"
    override.write_text(f"[home]\nport = {free_port()}\n[pub]\nport = {free_port()}\n"
                        + model_groups("home", "pub"))
    status, out, err, _ = check(tmp_path, "--config-file",
                                os.path.join(REPO, "etc", "svc.conf"),
                                "--config-file", str(override))
    assert status == 0, out + err
    assert out[-1].startswith("Configuration OK: 2 app(s)")


def test_check_before_a_reload_accepts_the_running_daemons_own_addresses(tmp_path, daemons):
    port = free_port()
    conf = write_config(tmp_path, {"good": {"port": port}}, ERROR_PASTE,
                        {"metrics_port": free_port()})
    daemon = daemons(tmp_path, "--config-file", conf)
    status, out, err, _ = check(tmp_path, "--config-file", conf)
    assert status == 0, err
    assert any(f"held by the running service-api (pid {daemon.pid})" in line
               for line in out)
    assert daemon.get("good", "/")[0] == 200


def test_an_app_that_never_finishes_building_is_named_after_the_timeout(tmp_path):
    conf = write_config(tmp_path, {"good": {"port": free_port()}, "hanging": {}},
                        ERROR_PASTE + "[app:hanging]\n"
                        "paste.app_factory = tests.fixture_apps:hanging_factory\n")
    # Long enough for the good app to build on a busy machine: the hanging
    # one never will.
    status, out, err, _ = check(tmp_path, "--config-file", conf,
                                "--check-config-timeout", "8")
    assert status == 1
    assert err == [f"service-api: error: app hanging: building it from "
                   f"{tmp_path}/api-paste.ini did not finish within 8 s "
                   "(--check-config-timeout): a factory waiting for a database "
                   "or service it cannot reach?"]


def test_unknown_keys_in_app_groups_are_warned_about(tmp_path):
    conf = write_config(tmp_path, {"good": {"port": free_port(), "greeting": "hi"}},
                        ERROR_PASTE)
    status, out, err, _ = check(tmp_path, "--config-file", conf)
    assert status == 0, err
    assert ("Warning: [good] greeting: app good: not a service-api option, "
            "ignored by service-api") in out
