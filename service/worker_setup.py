"""What a worker gets from the supervisor across the fork: its app, its socket, its pipes.

Shared by both sides: the supervisor fills it in before the fork, the
child (service.worker.process) lives by it. Plain data, no behaviour.
"""

import dataclasses
import selectors
import socket

from service import accept_board
from service import count_sheet
from service import worker_status
from service.supervisor import plan as service_plan


@dataclasses.dataclass
class Inherited:
    """Supervisor resources a forked worker holds copies of and must close."""
    sockets: list
    selector: selectors.BaseSelector
    fds: list
    # Other workers' worker_status.WorkerStatus: never this one's to write.
    statuses: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class WorkerSetup:
    app: service_plan.AppPlan
    generation: int
    plan: service_plan.Plan
    listener: socket.socket
    seat: accept_board.Seat   # this worker's slot on its app's board
    status: worker_status.WorkerStatus  # what it shows the supervisor of itself
    request_limit: int        # requests after which it reports "due" (0: never)
    reports_fd: int           # where it writes "ready" or "failed <why>"
    lifeline_fd: int          # read end of a pipe: EOF when the supervisor dies
    supervisor_only: Inherited
    # Where it counts its requests for the admin endpoint; None without one.
    sheet: count_sheet.CountSheet = None
