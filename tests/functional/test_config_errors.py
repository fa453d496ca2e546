"""Configuration errors at start: exit 1 within seconds, one clear line, no traceback, no port left open."""

import re
import socket
import subprocess

import pytest

from tests.functional.daemon import (REPO, SERVICE_API, free_port,
                                     port_is_closed, write_config)

PASTE = """
    [app:good]
    paste.app_factory = tests.fixture_apps:hello_factory

    [app:refusing]
    paste.app_factory = tests.fixture_apps:refusing_factory

    [app:unimportable]
    paste.app_factory = tests.no_such_module:factory

    [pipeline:badfilter]
    pipeline = nosuchfilter good

    [app:exiting]
    paste.app_factory = tests.fixture_apps:exiting_factory

    [app:ending]
    paste.app_factory = tests.fixture_apps:process_ending_factory
"""


def run(directory, *args, timeout=30):
    """Run service-api to its exit; return (exit status, output lines)."""
    result = subprocess.run(
        SERVICE_API + list(args), cwd=directory, capture_output=True,
        text=True, timeout=timeout, env={"PYTHONPATH": REPO, "PATH": "/usr/bin:/bin"})
    return result.returncode, (result.stdout + result.stderr).splitlines()


def error_lines(lines):
    return [line for line in lines if "ERROR" in line or "error:" in line]


def assert_config_error(directory, conf, *expected, port=None):
    status, lines = run(directory, "--config-file", conf)
    assert status == 1, lines
    errors = error_lines(lines)
    assert len(errors) == 1, lines
    for text in expected:
        assert text in errors[0], errors[0]
    assert not any("Traceback" in line for line in lines), lines
    if port:
        assert port_is_closed("127.0.0.1", port)
    return errors[0]


@pytest.fixture
def good_port():
    return free_port()


CASES = {
    "empty enabled_apis": (
        {}, {"enabled_apis": ""}, ["enabled_apis", "no apps to serve"]),
    "app unknown to the paste file": (
        {"good": {}, "nope": {}}, {}, ["app nope", "api-paste.ini", "no [app:nope]"]),
    "group without port": (
        {"good": {}, "noport": {"port": None}}, {},
        ["[noport] port", "required option is not set"]),
    "invalid port": (
        {"good": {"port": "eighty"}}, {}, ["[good] port", "invalid value"]),
    "zero workers": (
        {"good": {"workers": 0}}, {}, ["[good] workers", "invalid value"]),
    "unknown worker model": (
        {"good": {"worker_model": "greenlets"}}, {},
        ["[good] worker_model", "invalid value", "eventlet, threads", "greenlets"]),
    "missing paste file": (
        {"good": {}}, {"api_paste_config": "missing.ini"},
        ["api_paste_config", "missing.ini", "No such file"]),
    "factory raises": (
        {"good": {}, "refusing": {}}, {},
        ["app refusing", "api-paste.ini", "ValueError: factory refused to build"]),
    "factory cannot be imported": (
        {"good": {}, "unimportable": {}}, {},
        ["app unimportable", "No module named 'tests.no_such_module'"]),
    "pipeline names an unknown filter": (
        {"good": {}, "badfilter": {}}, {}, ["app badfilter", "nosuchfilter"]),
    "factory calls sys.exit()": (
        {"good": {}, "exiting": {}}, {},
        ["app exiting", "api-paste.ini", "SystemExit(3): the factory called sys.exit()"]),
    "factory ends its process": (
        {"good": {}, "ending": {}}, {},
        ["app ending", "the process building it exited with status 7"]),
    "misspelt option in an app group": (
        {"good": {"listne": "127.0.0.2"}}, {},
        ["[good] listne", "not an option; did you mean listen?"]),
}


@pytest.mark.parametrize("apps, defaults, expected", CASES.values(), ids=CASES)
def test_configuration_error(tmp_path, good_port, apps, defaults, expected):
    if "good" in apps and "port" not in apps["good"]:
        apps["good"]["port"] = good_port
    conf = write_config(tmp_path, apps, PASTE, defaults)
    assert_config_error(tmp_path, conf, *expected, port=good_port)


def test_app_named_in_enabled_apis_without_a_group(tmp_path, good_port):
    conf = write_config(tmp_path, {"good": {"port": good_port}}, PASTE)
    with open(conf) as f:
        text = f.read().replace("enabled_apis = good", "enabled_apis = good, ghost")
    with open(conf, "w") as f:
        f.write(text)
    assert_config_error(tmp_path, conf, "enabled_apis", "ghost", "no [ghost] group",
                        port=good_port)


def test_two_apps_on_one_address(tmp_path, good_port):
    paste = PASTE + "\n    [app:other]\n    use = call:tests.fixture_apps:hello_factory\n"
    conf = write_config(tmp_path, {"good": {"port": good_port},
                                   "other": {"port": good_port}}, paste)
    assert_config_error(tmp_path, conf, "app other", f"127.0.0.1 port {good_port}",
                        "already the address of app good", port=good_port)


def test_port_in_use(tmp_path, good_port):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    try:
        conf = write_config(tmp_path, {"good": {"port": good_port},
                                       "refusing": {"port": busy.getsockname()[1]}},
                            PASTE.replace("refusing_factory", "hello_factory"))
        assert_config_error(tmp_path, conf, "app refusing", "address already in use",
                            port=good_port)
    finally:
        busy.close()


def test_second_daemon_on_the_same_port_fails(tmp_path, daemons, good_port):
    conf = write_config(tmp_path, {"good": {"port": good_port}}, PASTE)
    first = daemons(tmp_path, "--config-file", conf)
    assert_config_error(tmp_path, conf, "app good", "address already in use")
    # The first daemon keeps the port to itself and still serves.
    for _ in range(20):
        assert first.get("good", "/")[0] == 200


def test_missing_config_file(tmp_path):
    status, lines = run(tmp_path, "--config-file", "nowhere.conf")
    assert status == 1
    assert len(error_lines(lines)) == 1
    assert "nowhere.conf" in error_lines(lines)[0]


def test_debug_shows_the_traceback(tmp_path, good_port):
    conf = write_config(tmp_path, {"good": {"port": good_port}, "refusing": {}}, PASTE)
    status, lines = run(tmp_path, "--config-file", conf, "--debug")
    assert status == 1
    output = "\n".join(lines)
    assert re.search(r"Traceback[\s\S]*ValueError: factory refused to build", output)


def test_a_section_header_without_its_bracket_is_a_syntax_error(tmp_path, good_port):
    paste = PASTE + "\n    [app:home\n    paste.app_factory = tests.fixture_apps:hello_factory\n"
    conf = write_config(tmp_path, {"good": {"port": good_port}, "home": {}}, paste)
    line = next(number for number, text in enumerate(
        (tmp_path / "api-paste.ini").read_text().splitlines(), 1) if text == "[app:home")
    assert_config_error(tmp_path, conf, "api-paste.ini is not a valid ini",
                        f"line {line}: '[app:home': a section header without its closing ]",
                        port=good_port)


def test_a_paste_syntax_error_names_its_line(tmp_path, good_port):
    paste = PASTE + "\n    [app:home]\n    this line has no equals sign\n"
    conf = write_config(tmp_path, {"good": {"port": good_port}}, paste)
    line = len((tmp_path / "api-paste.ini").read_text().splitlines())
    assert_config_error(tmp_path, conf,
                        f"line {line}: 'this line has no equals sign'", port=good_port)


def test_no_config_file_given_or_found(tmp_path):
    result = subprocess.run(
        SERVICE_API, cwd=tmp_path, capture_output=True, text=True, timeout=30,
        env={"PYTHONPATH": REPO, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "service-api: error: no config file: none was given with --config-file "
        "or --config-dir, and there is no service-api.conf in ~/.service-api/, "
        "~/, /etc/service-api/ or /etc/"]


def test_unknown_keys_in_an_app_group_are_warnings(tmp_path, daemons, good_port):
    conf = write_config(tmp_path, {"good": {"port": good_port, "greeting": "hi"}}, PASTE)
    daemon = daemons(tmp_path, "--config-file", conf)
    daemon.wait_for_log(r"WARNING service-api \[-\] \[good\] greeting: app good: "
                        r"not a service-api option, ignored by service-api")
