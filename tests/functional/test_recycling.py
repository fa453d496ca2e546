"""Recycling (max_requests, max_worker_rss): a reload of one worker, its replacement serving first; nothing lost."""

import re
import time

from tests.functional.daemon import rss_kib, wait_until, write_config
from tests.functional.load import Load

PASTE = """
    [app:hello]
    paste.app_factory = tests.fixture_apps:hello_factory

    [app:growing]
    paste.app_factory = tests.fixture_apps:growing_factory

    [app:flagged]
    paste.app_factory = tests.fixture_apps:refusing_once_flagged_factory
    flag = %(here)s/broken
"""

RECYCLED = r"Worker (\d+) of app {app} serves in place of worker (\d+) \(recycle\)"


def recycles(daemon, app):
    return re.findall(RECYCLED.format(app=app), daemon.log())


def test_recycling_under_load_loses_no_request(tmp_path, daemons):
    conf = write_config(tmp_path, {"hello": {"workers": 2, "max_requests": 50,
                                             "max_requests_jitter": 10}}, PASTE)
    daemon = daemons(tmp_path, "--config-file", conf)
    first = set(daemon.workers("hello"))
    with Load(daemon.address("hello"), keep_alive=3, fresh=3) as load:
        wait_until(lambda: len(recycles(daemon, "hello")) >= 6, timeout=60,
                   message="six recycles")
    assert load.failures == [] and load.served > 300
    # Each recycled after 50 to 60 requests, give or take what it served
    # while its replacement started.
    counts = [int(n) for n in re.findall(r"of app hello served (\d+) requests "
                                         r"\(max_requests 50 \+ \d+\): recycling it",
                                         daemon.log())]
    assert counts and min(counts) >= 50
    # The old workers went, after their replacements served.
    wait_until(lambda: len(daemon.workers("hello")) == 2, message="two workers again")
    assert not first & set(daemon.workers("hello"))
    assert "ERROR" not in daemon.log()


def test_a_worker_past_max_worker_rss_is_recycled(tmp_path, daemons):
    conf = write_config(tmp_path, {"growing": {"max_worker_rss": 200}}, PASTE)
    daemon = daemons(tmp_path, "--config-file", conf)
    (worker,) = daemon.workers("growing")
    assert rss_kib(worker) < 200 * 1024  # it starts below the limit
    assert daemon.get("growing", "/?mib=250")[0] == 200
    daemon.wait_for_log(rf"Worker {worker} of app growing holds \d+ MiB "
                        r"\(max_worker_rss 200 MiB\): recycling it")
    daemon.wait_for_log(RECYCLED.format(app="growing"))
    wait_until(lambda: worker not in daemon.workers("growing"), message="the old worker gone")
    assert daemon.get("growing", "/?mib=0")[0] == 200


def test_a_replacement_that_cannot_build_leaves_the_worker_serving_and_is_retried_slowly(
        tmp_path, daemons):
    conf = write_config(tmp_path, {"flagged": {"max_requests": 5}}, PASTE)
    daemon = daemons(tmp_path, "--config-file", conf)
    (worker,) = daemon.workers("flagged")
    (tmp_path / "broken").write_text("")  # every build from now on fails
    for _ in range(6):
        assert daemon.get("flagged")[0] == 200
    daemon.wait_for_log(rf"Worker {worker} of app flagged serves on: its replacement "
                        r"failed; next try in [\d.]+ s")
    # Tries come further and further apart: a handful in eight seconds, not a storm.
    time.sleep(8)
    tries = len(re.findall(r"serves on: its replacement failed", daemon.log()))
    assert 2 <= tries <= 8, tries
    assert daemon.get("flagged")[0] == 200
    assert set(daemon.workers("flagged")) >= {worker}
    # Mended, the next try replaces it.
    (tmp_path / "broken").unlink()
    daemon.wait_for_log(RECYCLED.format(app="flagged"), timeout=30)
    wait_until(lambda: worker not in daemon.workers("flagged"), message="the old worker gone")
