"""tools/benchkit: what the bench writes for the servers it starts (svc.conf variants, uWSGI, Apache)."""

import configparser
import os
import signal

from benchkit import apache, behind_apache, peers, service_api


def _parsed(text):
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    return parser


def test_the_plain_daemon_gets_no_setting_beyond_listen_port_and_workers():
    conf = _parsed(service_api.svc_conf_text(["hello"], 2))
    assert dict(conf["hello"]) == {"listen": "127.0.0.1", "port": "0",
                                   "workers": "2", **_defaults(conf)}


def _defaults(conf):
    return dict(conf["DEFAULT"])


def test_the_threads_variant_sets_the_worker_model_in_every_app_group_and_leaves_threads_alone():
    variant = service_api.VARIANTS[service_api.THREADS]
    conf = _parsed(service_api.svc_conf_text(["one", "two"], 2, variant))
    for app in ("one", "two"):
        assert conf.get(app, "worker_model") == "threads"
        assert not conf.has_option(app, "threads")
    assert "worker_model" not in _defaults(conf)


def test_the_metrics_variant_gets_a_real_free_port_in_default():
    variant = service_api.VARIANTS[service_api.METRICS]
    conf = _parsed(service_api.svc_conf_text(["hello"], 2, variant))
    assert int(conf.get("DEFAULT", "metrics_port")) > 0
    assert variant.settings() == "[DEFAULT] metrics_port = <free port>"


def test_behind_apache_service_api_listens_on_the_unix_socket_with_the_uwsgi_protocol():
    listen = behind_apache.uwsgi_settings("/run/x/service-api.socket")
    conf = _parsed(service_api.svc_conf_text(["json-api"], 2, listen=listen))
    group = dict(conf["json-api"])
    assert group["unix_socket"] == "/run/x/service-api.socket"
    assert group["protocol"] == "uwsgi"
    assert group["unix_socket_mode"] == "0666"
    assert "port" not in group and "listen" not in group


def test_uwsgi_behind_apache_uses_devstacks_socket_not_http_socket():
    ini = _parsed(peers.uwsgi_ini(None, 2, socket_path="/run/x/u.socket"))["uwsgi"]
    assert ini["socket"] == "/run/x/u.socket"
    assert ini["chmod-socket"] == "666"
    assert "http-socket" not in ini
    assert ini["add-header"] == "Connection: close"


def test_apache_gets_devstacks_proxypass_line_for_each_backend(tmp_path):
    conf = apache.httpd_conf(8080, tmp_path, {"service-api": "/run/x/s.socket"})
    assert ('ProxyPass "/service-api" "unix:/run/x/s.socket|'
            'uwsgi://uwsgi-uds-service-api" retry=0 acquire=1') in conf.splitlines()
    assert "Listen 127.0.0.1:8080" in conf.splitlines()
    assert f"PidFile {tmp_path}/httpd.pid" in conf.splitlines()
    assert "LoadModule proxy_uwsgi_module /usr/lib/apache2/modules/mod_proxy_uwsgi.so" in conf


def _worker_tree(code):
    """A process whose one child (its 'worker') runs `code`, then sleeps; the child's pid once it printed."""
    import subprocess
    import sys
    parent = subprocess.Popen(
        [sys.executable, "-c", "import subprocess, sys; subprocess.run([sys.executable, '-c', sys.argv[1]])",
         f"{code}; print('ready', flush=True); import time; time.sleep(30)"],
        stdout=subprocess.PIPE, text=True, start_new_session=True)
    assert parent.stdout.readline().strip() == "ready"
    return parent


def _server(name, proc, log=None):
    from benchkit.servers import Server
    return Server(name, "http://127.0.0.1:1", proc, log)


def test_a_threads_variant_is_what_the_daemon_logged_for_its_app(tmp_path):
    log = tmp_path / "service-api.log"
    for logged, code, expected in (
            ("with 2 worker(s) (generation 1), worker model eventlet", "import threading",
             "this row is the eventlet model"),
            ("with 2 worker(s) (generation 1), worker model threads", "import threading",
             "the threads model: no greenlet"),
            ("with 2 worker(s) (generation 1), worker model threads", "import greenlet",
             "the app's own import")):
        log.write_text(f"INFO service.supervisor.loop [-] App t: http://127.0.0.1:1 {logged}\n")
        parent = _worker_tree(code)
        try:
            found = service_api.what_it_ran(_server(service_api.THREADS, parent, log), "t")
        finally:
            os.killpg(parent.pid, signal.SIGKILL)
            parent.wait()
        assert expected in found


def test_a_metrics_variant_with_nothing_on_its_port_is_said_to_be_the_plain_daemon(tmp_path, monkeypatch):
    monkeypatch.setattr(service_api, "RUN", tmp_path)
    variant = service_api.VARIANTS[service_api.METRICS]
    service_api.svc_conf_path("t", variant.name).write_text(
        service_api.svc_conf_text(["hello"], 1, variant))
    found = service_api.what_it_ran(_server(variant.name, None), "t")
    assert "nothing answers on metrics_port" in found
    assert service_api.what_it_ran(_server(service_api.SERVICE_API, None), "t") is None
