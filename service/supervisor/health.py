"""/healthz: whether the daemon serves every enabled app, as a status code and one line of JSON.

200 while every app of the serving generation has at least one worker
that reported it serves (and is not retiring); 503 while starting (no
generation serves yet), while stopping (a TERM drain), or while an app has
no serving worker (its workers died and their replacements still build).
A reload keeps 200: the old generation serves until the new one does.

Pure: reads the fleet (service.supervisor.fleet), returns data.
"""

import dataclasses
import json

SERVING = "serving"
STARTING = "starting"
STOPPING = "stopping"
UNAVAILABLE = "unavailable"


@dataclasses.dataclass(frozen=True)
class Health:
    status: str
    generation: int = 0
    # {app: {"serving": workers serving, "workers": workers planned}}
    apps: dict = dataclasses.field(default_factory=dict)

    @property
    def code(self):
        return 200 if self.status == SERVING else 503

    def body(self):
        """One line of JSON."""
        return json.dumps(dataclasses.asdict(self), separators=(",", ":"),
                          sort_keys=True).encode() + b"\n"


def check(fleet):
    """The daemon's health as `fleet` (a service.supervisor.fleet.Fleet) stands now."""
    current = fleet.current
    if fleet.stopping:
        return Health(STOPPING, current.number if current is not None else 0)
    if current is None:
        return Health(STARTING)
    apps = {app.name: {"serving": serving_workers(fleet, current.number, app.name),
                       "workers": app.workers}
            for app in current.plan.apps}
    status = SERVING if all(app["serving"] for app in apps.values()) else UNAVAILABLE
    return Health(status, current.number, apps)


def serving_workers(fleet, generation, app_name):
    return sum(1 for worker in fleet.workers.values()
               if worker.app == app_name and worker.generation == generation
               and worker.ready and not worker.retiring)
