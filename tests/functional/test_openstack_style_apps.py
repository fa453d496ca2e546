"""What OpenStack services do in a worker, and what service-api must leave them free to do.

Each fixture app (tests/apps/) does one thing nova, glance, cinder or
swift does: register oslo.service's options, register command-line
options when imported, log lazily translated messages, log through a
handler of its own, or set itself up entirely in its own WSGI module.
"""

import re
import signal
import subprocess
import sys

from tests.functional.daemon import REPO
from tests.functional.daemon import write_config


def _serve(tmp_path, daemons, paste, apps=("app",)):
    conf = write_config(tmp_path, {name: {} for name in apps}, paste)
    return daemons(tmp_path, "--config-file", conf)


def test_an_app_may_register_oslo_services_options(tmp_path, daemons):
    daemon = _serve(tmp_path, daemons, """
        [app:app]
        paste.app_factory = tests.apps.oslo_service_options:app_factory
    """)
    status, _, body = daemon.get("app")
    assert (status, body) == (200, b"graceful_shutdown_timeout=60\n")


def test_the_apps_definition_of_a_shared_name_reads_the_daemons_file(tmp_path, daemons):
    conf = write_config(tmp_path, {"app": {}}, """
        [app:app]
        paste.app_factory = tests.apps.oslo_service_options:app_factory
    """, defaults={"graceful_shutdown_timeout": 7})
    daemon = daemons(tmp_path, "--config-file", conf)
    assert daemon.get("app")[2] == b"graceful_shutdown_timeout=7\n"


def test_an_app_may_register_command_line_options_when_imported(tmp_path, daemons):
    conf = write_config(tmp_path, {"app": {}}, """
        [app:app]
        paste.app_factory = tests.apps.cli_options:app_factory
    """, defaults={"fixture_greeting": "hello-from-svc.conf"})
    # The daemon's own command line is not the app's: --debug is service-api's.
    daemon = daemons(tmp_path, "--config-file", conf, "--debug")
    assert daemon.get("app")[:3:2] == (200, b"hello-from-svc.conf dry_run=False\n")


def test_lazily_translated_messages_are_logged_at_build_and_request(tmp_path, daemons):
    daemon = _serve(tmp_path, daemons, """
        [app:app]
        paste.app_factory = tests.apps.lazy_translation:app_factory
    """)
    assert daemon.get("app", "/lazy")[0] == 200
    daemon.wait_for_log(r"INFO fixture\.lazy \[-\] \[app\] Lazy app built in the worker")
    daemon.wait_for_log(r"INFO fixture\.lazy \[-\] \[app\] Lazy app serving /lazy")


def test_check_config_builds_as_a_worker_does(tmp_path, daemons):
    conf = write_config(tmp_path, {"app": {}}, """
        [app:app]
        paste.app_factory = tests.apps.lazy_translation:app_factory
    """)
    result = subprocess.run(
        [sys.executable, "-m", "service", "--check-config", "--config-file", conf],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
        env={"PYTHONPATH": REPO, "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert "Configuration OK" in result.stdout
    daemons(tmp_path, "--config-file", conf)  # and a start agrees


def test_records_an_app_logs_through_its_own_handler_are_left_as_made(tmp_path, daemons):
    own_log = tmp_path / "own.log"
    daemon = _serve(tmp_path, daemons, f"""
        [app:app]
        paste.app_factory = tests.apps.own_logging:app_factory
        log_file = {own_log}
    """)
    assert daemon.get("app", "/mine")[0] == 200
    daemon.wait_for_log(r'\[app\] 127\.0\.0\.1 "GET /mine HTTP/1\.1"')
    assert own_log.read_text() == "fixture.own|built\nfixture.own|GET /mine\n"
    # What the app logs through the daemon's handlers is named like its own lines.
    daemon.wait_for_log(r"WARNING fixture\.shared \[-\] \[app\] built, said to the daemon's log")


def _own_launcher(tmp_path, daemons, motd):
    own_conf = tmp_path / "own.conf"
    own_log = tmp_path / "service.log"
    own_conf.write_text(f"[DEFAULT]\nlog_file = {own_log}\n"
                        f"[fixture_service]\nmotd = {motd}\n")
    daemon = _serve(tmp_path, daemons, f"""
        [app:svc]
        paste.app_factory = service.wsgi_module:app_factory
        module = tests.apps.own_launcher
        argv = --config-file {own_conf}
        env = FIXTURE_SERVICE_MARK='set by env'
    """, apps=("svc",))
    return daemon, own_conf, own_log


def test_a_service_module_sets_itself_up_as_under_uwsgi(tmp_path, daemons):
    daemon, _, own_log = _own_launcher(tmp_path, daemons, "first")
    assert daemon.get("svc", "/v1")[2] == b"first mark=set by env\n"
    # The service logs where its own configuration says, in its own format;
    # service-api's lines stay in service-api's log, named by the app.
    daemon.wait_for_log(r'\[svc\] 127\.0\.0\.1 "GET /v1 HTTP/1\.1" status: 200')
    service_log = own_log.read_text()
    assert re.search(r"INFO tests\.apps\.own_launcher \[-\] Fixture service set up in \d+",
                     service_log)
    assert "Fixture service serving /v1" in service_log
    assert "GET /v1 HTTP/1.1" not in service_log
    assert "Fixture service" not in daemon.log()


def test_a_reload_gives_a_service_module_its_new_config(tmp_path, daemons):
    daemon, own_conf, _ = _own_launcher(tmp_path, daemons, "before")
    assert daemon.get("svc")[2] == b"before mark=set by env\n"
    own_conf.write_text(own_conf.read_text().replace("before", "after"))
    daemon.signal(signal.SIGHUP)
    daemon.wait_for_log("Reload complete")
    assert daemon.get("svc")[2] == b"after mark=set by env\n"


def test_a_module_that_is_not_there_is_a_configuration_error(tmp_path, daemons):
    conf = write_config(tmp_path, {"svc": {}}, """
        [app:svc]
        paste.app_factory = service.wsgi_module:app_factory
        module = no_such_service.wsgi:application
    """)
    daemon = daemons(tmp_path, "--config-file", conf, ready=False)
    assert daemon.wait_exit() == 1
    assert ("app svc: building it from " in daemon.log()
            and "ModuleNotFoundError: No module named 'no_such_service'" in daemon.log())
