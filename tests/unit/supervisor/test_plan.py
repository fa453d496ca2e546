"""From config files to a Plan, and every configuration error it names."""

import os

import pytest
from oslo_config import cfg

from service import conf as service_conf
from service.errors import ConfigError
from service.conf.files import files_read
from service.supervisor.plan import AppLimits, build_plan
from service.supervisor.plan import edit_distance

PASTE = """
[app:home]
paste.app_factory = x:y
[composite:pub]
use = egg:Paste#urlmap
[pipeline:piped]
pipeline = f home
[filter-app:wrapped]
use = egg:x#y
next = home
[filter:f]
use = egg:x#f
"""


def plan_for(tmp_path, conf_text, paste=PASTE, cpu_count=4, argv=()):
    (tmp_path / "api-paste.ini").write_text(paste)
    conf_file = tmp_path / "svc.conf"
    conf_file.write_text(conf_text)
    return _build(["--config-file", str(conf_file), *argv], cpu_count)


def _build(args, cpu_count=4):
    conf = cfg.ConfigOpts()
    service_conf.register_opts(conf)
    conf(args=args, default_config_files=[])
    return build_plan(conf, files_read(conf, args), cpu_count=cpu_count)


def test_defaults_and_per_app_values(tmp_path):
    plan = plan_for(tmp_path, """
[DEFAULT]
enabled_apis = home, pub
[home]
port = 8001
[pub]
listen = ::1
port = 8003
workers = 3
""")
    home, pub = plan.apps
    assert (home.name, home.listen, home.port, home.workers) == ("home", "0.0.0.0", 8001, 4)
    assert (pub.name, pub.listen, pub.port, pub.workers) == ("pub", "::1", 8003, 3)
    assert plan.paste_file == str(tmp_path / "api-paste.ini")
    assert plan.graceful_shutdown_timeout == 60
    assert plan.wsgi.pool_size == 100
    assert plan.wsgi.max_header_line == 16384
    assert plan.wsgi.keep_alive is True
    assert plan.wsgi.client_socket_timeout == 900
    assert plan.sockets.backlog == 4096 and plan.sockets.tcp_keepidle == 600


def test_every_paste_section_kind_can_be_served(tmp_path):
    plan = plan_for(tmp_path, """
[DEFAULT]
enabled_apis = home, pub, piped, wrapped
[home]
port = 1
[pub]
port = 2
[piped]
port = 3
[wrapped]
port = 4
""")
    assert [app.name for app in plan.apps] == ["home", "pub", "piped", "wrapped"]


def test_relative_paste_path_resolves_against_the_config_files_directory(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "paste.ini").write_text(PASTE)
    plan = plan_for(tmp_path, "[DEFAULT]\nenabled_apis = home\n"
                    "api_paste_config = sub/paste.ini\n[home]\nport = 1\n")
    assert plan.paste_file == str(tmp_path / "sub" / "paste.ini")


def test_later_config_files_win(tmp_path):
    override = tmp_path / "override.conf"
    override.write_text("[home]\nport = 9\nworkers = 1\n")
    plan = plan_for(tmp_path, "[DEFAULT]\nenabled_apis = home\n[home]\nport = 1\n",
                    argv=["--config-file", str(override)])
    assert (plan.apps[0].port, plan.apps[0].workers) == (9, 1)


def test_port_zero_apps_may_share_an_address(tmp_path):
    plan = plan_for(tmp_path, "[DEFAULT]\nenabled_apis = home, pub\n"
                    "[home]\nport = 0\n[pub]\nport = 0\n")
    assert len(plan.apps) == 2


ERRORS = {
    "empty enabled_apis": ("[DEFAULT]\nenabled_apis =\n", "enabled_apis: no apps to serve"),
    "repeated app": ("[DEFAULT]\nenabled_apis = home, home\n[home]\nport = 1\n",
                     "home listed more than once"),
    "no group": ("[DEFAULT]\nenabled_apis = home\n", "no [home] group"),
    "no port": ("[DEFAULT]\nenabled_apis = home\n[home]\nworkers = 2\n",
                "[home] port: app home: required option is not set"),
    "bad port": ("[DEFAULT]\nenabled_apis = home\n[home]\nport = 70000\n",
                 "[home] port: invalid value: Should be less than or equal to 65535"),
    "bad workers": ("[DEFAULT]\nenabled_apis = home\n[home]\nport = 1\nworkers = 0\n",
                    "[home] workers: invalid value"),
    "bad timeout": ("[DEFAULT]\nenabled_apis = home\ngraceful_shutdown_timeout = -1\n"
                    "[home]\nport = 1\n", "[DEFAULT] graceful_shutdown_timeout: invalid value"),
    "bad bool": ("[DEFAULT]\nenabled_apis = home\nwsgi_keep_alive = maybe\n"
                 "[home]\nport = 1\n", "[DEFAULT] wsgi_keep_alive: invalid value"),
    "shared address": ("[DEFAULT]\nenabled_apis = home, pub\n[home]\nport = 5\n"
                       "[pub]\nlisten = 0.0.0.0\nport = 5\n",
                       "app pub: 0.0.0.0 port 5 is already the address of app home"),
    "unknown app": ("[DEFAULT]\nenabled_apis = other\n[other]\nport = 1\n",
                    "app other: paste file"),
    "filter is not an app": ("[DEFAULT]\nenabled_apis = f\n[f]\nport = 1\n",
                             "no [app:f], [composite:f], [pipeline:f] or [filter-app:f]"),
    "bad access log format": ("[DEFAULT]\nenabled_apis = home\n"
                              "wsgi_log_format = %(client_addr)s %(status_code)s\n"
                              "[home]\nport = 1\n",
                              "[DEFAULT] wsgi_log_format: cannot make access lines"),
    "missing paste file": ("[DEFAULT]\nenabled_apis = home\napi_paste_config = gone.ini\n"
                           "[home]\nport = 1\n", "cannot read paste file"),
}


@pytest.mark.parametrize("conf_text, message", ERRORS.values(), ids=ERRORS)
def test_configuration_errors(tmp_path, conf_text, message):
    with pytest.raises(ConfigError) as error:
        plan_for(tmp_path, conf_text)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_paste_file_that_is_not_utf8(tmp_path):
    (tmp_path / "api-paste.ini").write_bytes(b"# caf\xe9\n[app:home]\npaste.app_factory = x:y\n")
    conf = tmp_path / "svc.conf"
    conf.write_text("[DEFAULT]\nenabled_apis = home\n[home]\nport = 1\n")
    with pytest.raises(ConfigError, match="is not UTF-8 text"):
        _build(["--config-file", str(conf)])


def test_paste_file_that_is_not_an_ini(tmp_path):
    with pytest.raises(ConfigError, match="is not a valid ini"):
        plan_for(tmp_path, "[DEFAULT]\nenabled_apis = home\n[home]\nport = 1\n",
                 paste="no section header\n")


def test_list_opts_declares_every_option_once_with_help():
    names = []
    for group, opts in service_conf.list_opts():
        for opt in opts:
            assert opt.help, opt.name
            names.append((group, opt.name))
    assert len(names) == len(set(names))
    assert {name for _, name in names} >= {
        "enabled_apis", "api_paste_config", "graceful_shutdown_timeout",
        "wsgi_default_pool_size", "max_header_line", "wsgi_keep_alive",
        "client_socket_timeout", "tcp_keepidle", "backlog", "wsgi_log_format",
        "listen", "port", "workers"}


def test_sample_config_and_paste_file_are_valid():
    etc = os.path.join(os.path.dirname(__file__), "..", "..", "..", "etc")
    plan = _build(["--config-file", os.path.join(etc, "svc.conf")])
    assert [(a.name, a.port) for a in plan.apps] == [("home", 8001), ("pub", 8003)]


@pytest.mark.parametrize("key, meant", [
    ("listne", "listen"), ("lsiten", "listen"), ("prot", "port"), ("post", "port"),
    ("worker", "workers"), ("wrokers", "workers"), ("certfile", "cert_file"),
    ("ca_files", "ca_file"), ("tls_minimum_versoin", "tls_minimum_version"),
    ("LISTEN", "listen"),
])
def test_a_misspelt_option_in_an_app_group_is_an_error_naming_the_option(tmp_path, key, meant):
    with pytest.raises(ConfigError) as error:
        plan_for(tmp_path, f"[DEFAULT]\nenabled_apis = home\n[home]\nport = 1\n{key} = x\n")
    assert str(error.value) == (f"[home] {key}: app home: not an option; "
                                f"did you mean {meant}?")


def test_other_unknown_keys_in_an_app_group_are_warnings(tmp_path):
    plan = plan_for(tmp_path, "[DEFAULT]\nenabled_apis = home\nunrelated = 1\n"
                    "[home]\nport = 1\nhost = example.org\ngreeting = hi\n"
                    "[not_an_app]\nlistne = 1\n")
    assert plan.warnings == (
        "[home] host: app home: not a service-api option, ignored by service-api",
        "[home] greeting: app home: not a service-api option, ignored by service-api")


@pytest.mark.parametrize("a, b, distance", [
    ("", "", 0), ("port", "port", 0), ("prot", "port", 1), ("host", "port", 2),
    ("listne", "listen", 1), ("kitten", "sitting", 3), ("ab", "ba", 1), ("", "abc", 3),
])
def test_edit_distance_counts_a_swap_of_neighbours_as_one_edit(a, b, distance):
    assert edit_distance(a, b) == distance
    assert edit_distance(b, a) == distance


def test_the_files_read_follow_oslo_config_order(tmp_path):
    first, second = tmp_path / "a.conf", tmp_path / "b.conf"
    conf_dir = tmp_path / "conf.d"
    conf_dir.mkdir()
    for path in (first, second, conf_dir / "2.conf", conf_dir / "1.conf"):
        path.write_text("[DEFAULT]\n")
    args = ["--config-file", str(first), "--config-dir", str(conf_dir),
            f"--config-file={second}"]
    conf = cfg.ConfigOpts()
    conf(args=args, default_config_files=[])
    assert files_read(conf, args) == (str(first), str(conf_dir / "1.conf"),
                                      str(conf_dir / "2.conf"), str(second))


def test_unix_socket_apps_need_no_port(tmp_path):
    plan = plan_for(tmp_path, "[DEFAULT]\nenabled_apis = home, pub\n"
                    "[home]\nunix_socket = run/home.socket\nprotocol = uwsgi\n"
                    "[pub]\nunix_socket = /run/pub.socket\nunix_socket_mode = 666\n")
    home, pub = plan.apps
    assert (home.unix_socket, home.unix_socket_mode, home.protocol, home.port) == (
        str(tmp_path / "run" / "home.socket"), 0o660, "uwsgi", None)
    assert (pub.unix_socket, pub.unix_socket_mode, pub.protocol) == (
        "/run/pub.socket", 0o666, "http")
    assert plan.warnings == ()


def test_a_port_beside_a_unix_socket_is_a_warning(tmp_path):
    plan = plan_for(tmp_path, "[DEFAULT]\nenabled_apis = home\n"
                    "[home]\nunix_socket = /run/home.socket\nport = 8001\n")
    assert plan.warnings == ("[home] port: app home: not used, the app listens on "
                             "its unix_socket /run/home.socket",)


def test_an_app_systemd_passes_a_socket_to_needs_no_port(tmp_path):
    (tmp_path / "api-paste.ini").write_text(PASTE)
    (tmp_path / "svc.conf").write_text("[DEFAULT]\nenabled_apis = home\n[home]\nworkers = 1\n")
    args = ["--config-file", str(tmp_path / "svc.conf")]
    conf = cfg.ConfigOpts()
    service_conf.register_opts(conf)
    conf(args=args, default_config_files=[])
    plan = build_plan(conf, files_read(conf, args), systemd_sockets={"home": None})
    assert plan.apps[0].systemd_socket and plan.apps[0].address == ("systemd", "home")


UNIX_SOCKET_ERRORS = {
    "shared unix socket": ("[DEFAULT]\nenabled_apis = home, pub\n"
                           "[home]\nunix_socket = /run/a.socket\n"
                           "[pub]\nunix_socket = /run/../run/a.socket\n",
                           "[pub] unix_socket: app pub: /run/a.socket is already the "
                           "socket of app home"),
    "path too long": ("[DEFAULT]\nenabled_apis = home\n[home]\nunix_socket = /"
                      + "x" * 107 + "\n", "is too long for a Unix socket (at most 107 bytes)"),
    "bad mode": ("[DEFAULT]\nenabled_apis = home\n[home]\nunix_socket = /run/a.socket\n"
                 "unix_socket_mode = 0886\n", "[home] unix_socket_mode: invalid value"),
    "bad protocol": ("[DEFAULT]\nenabled_apis = home\n[home]\nport = 1\nprotocol = fcgi\n",
                     "[home] protocol: invalid value"),
    "uwsgi over tls": ("[DEFAULT]\nenabled_apis = home\n[home]\nport = 1\nprotocol = uwsgi\n"
                       "cert_file = c.pem\nkey_file = k.pem\n",
                       "[home] protocol: app home: uwsgi is spoken to a web server in front"),
}


@pytest.mark.parametrize("conf_text, message", UNIX_SOCKET_ERRORS.values(), ids=UNIX_SOCKET_ERRORS)
def test_unix_socket_and_protocol_errors(tmp_path, conf_text, message):
    with pytest.raises(ConfigError) as error:
        plan_for(tmp_path, conf_text)
    assert message in str(error.value)


def test_protection_options_default_to_the_documented_values_and_none(tmp_path):
    plan = plan_for(tmp_path, "[DEFAULT]\nenabled_apis = home\n[home]\nport = 8001\n")
    assert (plan.worker_timeout, plan.app_build_timeout) == (30, 300)
    assert plan.wsgi.request_head_timeout == 60
    assert plan.apps[0].limits == AppLimits()


def test_protection_options_per_app(tmp_path):
    plan = plan_for(tmp_path, """
[DEFAULT]
enabled_apis = home, pub
worker_timeout = 10
app_build_timeout = 20
request_head_timeout = 5
[home]
port = 8001
request_timeout = 30
max_requests = 1000
max_requests_jitter = 50
max_worker_rss = 512
max_request_body_size = 1048576
[pub]
port = 8003
""")
    home, pub = plan.apps
    assert (plan.worker_timeout, plan.app_build_timeout) == (10, 20)
    assert plan.wsgi.request_head_timeout == 5
    assert home.limits == AppLimits(request_timeout=30, max_requests=1000,
                                    max_requests_jitter=50, max_worker_rss=512,
                                    max_request_body_size=1048576)
    assert pub.limits == AppLimits()


def test_a_misspelt_protection_option_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"\[home\] max_request: app home: not an "
                                          r"option; did you mean max_requests\?"):
        plan_for(tmp_path, "[DEFAULT]\nenabled_apis = home\n[home]\nport = 8001\n"
                           "max_request = 5\n")
