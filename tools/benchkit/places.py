"""Where the bench keeps its files, and the figures every scenario shares."""

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
TOOLS = REPO / "tools"
SUPPORT = TOOLS / "bench_support"
BENCH = REPO / ".bench"
VENV = BENCH / "venv"
GEN = BENCH / "gen"          # launchers, apps and configs generated for the peers
RUN = BENCH / "run"          # logs, sockets and port files of the current run
RESULTS = BENCH / "results"

HOST = "127.0.0.1"
WORKERS = 2
CONNECTIONS = 50
IDLE_CONNECTIONS = 10_000
# wrk counts a request unanswered after this long as a timeout error
# (wrk's own default).
WRK_TIMEOUT_S = 2
# io20ms: long enough that uWSGI's queue (50 clients on 2 single-threaded
# workers: about 0.5 s each) shows as latency, not as errors.
IO_TIMEOUT_S = 10
# Width of the server column in the tables.
NAME_WIDTH = 21
