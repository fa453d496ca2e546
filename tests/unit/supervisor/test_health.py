"""/healthz's decision, from a real Fleet driven without processes."""

import json
import signal

from service.supervisor import health
from tests.unit.supervisor.test_fleet import FakeLoop, plan_with


def test_starting_until_every_worker_of_start_up_serves():
    loop = FakeLoop()
    loop.start(plan_with(a=2))
    assert health.check(loop.fleet) == health.Health(health.STARTING)
    loop.ready(loop.pids()[0])
    assert health.check(loop.fleet).code == 503
    loop.ready(loop.pids()[1])
    state = health.check(loop.fleet)
    assert (state.code, state.status) == (200, health.SERVING)
    assert state.apps == {"a": {"serving": 2, "workers": 2}}


def test_an_app_without_a_serving_worker_is_unavailable_while_others_serve():
    loop = FakeLoop()
    loop.serving(plan_with(a=1, b=2))
    loop.exited(loop.pids(app="a")[0], status=9)
    state = health.check(loop.fleet)
    assert (state.code, state.status) == (503, health.UNAVAILABLE)
    assert state.apps["a"]["serving"] == 0 and state.apps["b"]["serving"] == 2
    loop.later(1)
    loop.ready(*loop.pids(app="a"))
    assert health.check(loop.fleet).code == 200


def test_a_reload_keeps_200_and_a_stop_is_503():
    loop = FakeLoop()
    loop.serving(plan_with(a=1))
    loop.plans_to_read.append(plan_with(a=1))
    loop.signal(signal.SIGHUP)
    assert health.check(loop.fleet).code == 200
    loop.ready(*loop.pids(generation=2))
    assert health.check(loop.fleet).generation == 2
    loop.signal(signal.SIGTERM)
    assert health.check(loop.fleet) == health.Health(health.STOPPING, 2)


def test_the_body_is_one_line_of_json():
    body = health.Health(health.SERVING, 3, {"a": {"serving": 1, "workers": 1}}).body()
    assert body.endswith(b"\n") and body.count(b"\n") == 1
    assert json.loads(body) == {"status": "serving", "generation": 3,
                                "apps": {"a": {"serving": 1, "workers": 1}}}
