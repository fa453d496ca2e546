"""What the fleet (service.supervisor.fleet) asks the loop (service.supervisor.loop) to do: plain data, performed in the order given."""

import dataclasses

from service.supervisor import plan as service_plan

# What Notify tells systemd.
READY = "ready"
RELOADING = "reloading"
STOPPING = "stopping"


@dataclasses.dataclass(frozen=True)
class Spawn:
    """Fork a worker for slot (app, index) of a generation.

    The loop answers with forked() or fork_failed(), unless still_wanted() says no.
    """
    generation: int
    plan: service_plan.Plan
    app: service_plan.AppPlan
    index: int
    # The pid of the worker this one is to replace in its slot (the fleet's Rule 6).
    replaces: int | None = None
    # Requests after which it is recycled: max_requests plus its jitter (0:
    # never). The worker is told, to say when it gets there (worker_due).
    request_limit: int = 0


@dataclasses.dataclass(frozen=True)
class Terminate:
    """SIGTERM: the worker stops accepting, finishes what it serves, and exits."""
    pid: int


@dataclasses.dataclass(frozen=True)
class Kill:
    pid: int


@dataclasses.dataclass(frozen=True)
class CloseSockets:
    """Close the supervisor's listening sockets with these sockets.socket_key()s."""
    keys: frozenset


@dataclasses.dataclass(frozen=True)
class ReadPlan:
    """Read the config files again and bind the new plan's sockets.

    The loop answers with plan_read() or plan_failed().
    """


@dataclasses.dataclass(frozen=True)
class Notify:
    """Tell systemd the daemon is READY, RELOADING or STOPPING."""
    state: str


@dataclasses.dataclass(frozen=True)
class Inspect:
    """Read every worker's status (service.worker_status) and answer with inspected()."""


@dataclasses.dataclass(frozen=True)
class ReopenLogs:
    """Reopen the supervisor's own log files."""


@dataclasses.dataclass(frozen=True)
class ReopenWorkerLogs:
    """Ask a worker to reopen its log files (SIGUSR1)."""
    pid: int


@dataclasses.dataclass(frozen=True)
class Log:
    level: int
    message: str
    args: tuple = ()

    @property
    def text(self):
        return self.message % self.args


@dataclasses.dataclass(frozen=True)
class Exit:
    code: int
    # Why start-up failed, if it did: the daemon reports it as a configuration error.
    failure: str | None = None


Action = (Spawn | Terminate | Kill | CloseSockets | ReadPlan | Notify | Inspect
          | ReopenLogs | ReopenWorkerLogs | Log | Exit)
