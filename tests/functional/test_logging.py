"""Logging through oslo.log, in the supervisor and every worker, each line naming its app."""

import json
import textwrap

from tests.functional.daemon import write_config

PASTE = """
    [app:hello]
    paste.app_factory = tests.fixture_apps:hello_factory

    [app:context]
    paste.app_factory = tests.fixture_apps:request_context_factory

    [app:other]
    paste.app_factory = tests.fixture_apps:hello_factory
"""


def test_log_file_holds_supervisor_and_worker_lines_tagged_by_app(tmp_path, daemons):
    log = tmp_path / "svc.log"
    conf = write_config(tmp_path, {"hello": {}, "other": {}}, PASTE)
    daemon = daemons(tmp_path, "--config-file", conf, "--log-file", str(log),
                     log_path=str(log))
    daemon.get("hello", "/from-hello")
    daemon.get("other", "/from-other")
    daemon.wait_for_log(r'\[hello\] 127\.0\.0\.1 "GET /from-hello HTTP/1\.1" status: 200')
    daemon.wait_for_log(r'\[other\] 127\.0\.0\.1 "GET /from-other HTTP/1\.1" status: 200')
    text = log.read_text()
    assert "service.supervisor" in text
    # Nothing went to the output instead.
    with open(tmp_path / "service-api.log") as output:
        assert "/from-hello" not in output.read()


def test_access_lines_in_oslo_logs_default_format(tmp_path, daemons):
    log = tmp_path / "svc.log"
    conf = write_config(tmp_path, {"hello": {}}, PASTE)
    daemon = daemons(tmp_path, "--config-file", conf, "--log-file", str(log),
                     log_path=str(log))
    worker = next(iter(daemon.workers("hello")))
    daemon.get("hello", "/plain?a=%41")
    daemon.wait_for_log(
        r"\n\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} " + str(worker)
        + r' INFO service\.access \[-\] \[hello\] 127\.0\.0\.1 '
        r'"GET /plain\?a=%41 HTTP/1\.1" status: 200  len: \d+ time: \d+\.\d{7}\n')


def test_access_line_of_a_request_with_an_oslo_context_shows_its_ids(tmp_path, daemons):
    # As with oslo.service: the context an app sets in the request's green
    # thread is still there when the access line is logged.
    log = tmp_path / "svc.log"
    conf = write_config(tmp_path, {"context": {}}, PASTE)
    daemon = daemons(tmp_path, "--config-file", conf, "--log-file", str(log),
                     log_path=str(log))
    daemon.get("context", "/req-7e57")
    daemon.wait_for_log(r'INFO service\.access \[\S+ req-7e57 [^]]*\] \[context\] '
                        r'127\.0\.0\.1 "GET /req-7e57 HTTP/1\.1" status: 200')
    # Contexts belong to their request's green thread: another client's
    # request, without one, is logged without one.
    daemon.get("context", "/other")
    daemon.wait_for_log(r'INFO service\.access \[-\] \[context\] '
                        r'127\.0\.0\.1 "GET /other HTTP/1\.1" status: 200')
    # Nor does the next request on the same connection (the same green
    # thread, when it comes at once) inherit it.
    conn = daemon.connection("context")
    for path in ("/req-5eed", "/after"):
        conn.request("GET", path)
        response = conn.getresponse()
        assert response.status == 200 and response.read()
    conn.close()
    daemon.wait_for_log(r'INFO service\.access \[\S+ req-5eed [^]]*\] \[context\] '
                        r'127\.0\.0\.1 "GET /req-5eed HTTP/1\.1"')
    daemon.wait_for_log(r'INFO service\.access \[-\] \[context\] '
                        r'127\.0\.0\.1 "GET /after HTTP/1\.1" status: 200')


def test_debug_adds_debug_lines(tmp_path, daemons):
    conf = write_config(tmp_path, {"hello": {}}, PASTE)
    daemon = daemons(tmp_path, "--config-file", conf, "--debug")
    daemon.wait_for_log(r"DEBUG service\.supervisor .*Started worker \d+ of app hello")
    daemon.wait_for_log(r"DEBUG service\.supervisor .*Worker \d+ of app hello is serving")


def test_json_lines(tmp_path, daemons):
    log = tmp_path / "svc.json"
    conf = write_config(tmp_path, {"hello": {}}, PASTE,
                        defaults={"use_json": "true", "log_file": log})
    daemon = daemons(tmp_path, "--config-file", conf, log_path=str(log))
    worker = next(iter(daemon.workers("hello")))
    daemon.get("hello", "/json")
    daemon.wait_for_log(r'GET /json HTTP/1\.1')
    records = [json.loads(line) for line in log.read_text().splitlines()]
    access = [r for r in records if "/json" in r["message"]]
    assert len(access) == 1
    assert access[0]["message"].startswith("[hello] 127.0.0.1")
    assert access[0]["process"] == worker
    # Workers skip thread names only where no format shows them.
    assert access[0]["thread_name"]
    assert any(r["name"] == "service.supervisor" for r in records)


def test_a_format_that_shows_thread_names_gets_them(tmp_path, daemons):
    log = tmp_path / "svc.log"
    access_log = tmp_path / "access.log"
    # The root handler shows no thread; the access logger's own one does.
    logging_conf = tmp_path / "logging.conf"
    logging_conf.write_text(textwrap.dedent(f"""\
        [loggers]
        keys = root, access
        [handlers]
        keys = file, access
        [formatters]
        keys = plain, threads
        [logger_root]
        level = INFO
        handlers = file
        [logger_access]
        qualname = service.access
        level = INFO
        handlers = access
        [handler_file]
        class = FileHandler
        args = ('{log}',)
        formatter = plain
        [handler_access]
        class = FileHandler
        args = ('{access_log}',)
        formatter = threads
        [formatter_plain]
        format = %(process)d %(message)s
        [formatter_threads]
        format = %(process)d thread=%(threadName)s %(message)s
    """))
    conf = write_config(tmp_path, {"hello": {}}, PASTE,
                        defaults={"log_config_append": logging_conf})
    daemon = daemons(tmp_path, "--config-file", conf, log_path=str(log))
    daemon.get("hello", "/threads")
    daemon.wait_for_log(r'"GET /threads HTTP/1\.1"')
    [line] = [line for line in access_log.read_text().splitlines()
              if "/threads" in line]
    assert "thread=" in line and "thread=None" not in line
