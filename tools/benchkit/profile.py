"""service-api alone: py-spy on a worker under keep-alive load, then under connection-close load."""

import re
import time

from .console import BenchError, progress
from .load import run_wrk
from .places import CONNECTIONS, RUN, VENV
from .processes import cpu_seconds
from .service_api import SERVICE_API, VARIANTS, start_service_api


def profile_worker(procs, options, report, name=SERVICE_API):
    """py-spy on a worker of `name` (service-api or a variant) under keep-alive load, then under connection-close load."""
    prefix = "profile" if name == SERVICE_API else f"profile-{name}"
    for mode, wrk_headers in (("keep-alive", []),
                              ("close", ["-H", "Connection: close"])):
        server = start_service_api(procs, f"profile-{mode}", "hello",
                                   variant=VARIANTS[name])
        try:
            raw = RUN / f"{prefix}-{mode}-raw.txt"
            svg = RUN / f"{prefix}-{mode}.svg"
            run_wrk(procs, server.url, options.warmup)
            wrk = procs.start(["wrk", "-t1", f"-c{CONNECTIONS}",
                               f"-d{options.profile_seconds + 4}s",
                               *wrk_headers, server.url + "/"])
            busiest, other = _by_cpu_use(server.worker_pids(), seconds=1.0)
            progress(f"profile: py-spy on {name} worker {busiest} for "
                     f"{options.profile_seconds} s under {mode} load")
            spies = [_py_spy(procs, busiest, raw, "raw", options.profile_seconds),
                     _py_spy(procs, other, svg, "flamegraph",
                             options.profile_seconds)]
            for spy in spies:
                spy.wait(timeout=options.profile_seconds + 60)
            procs.stop(wrk)
            if not raw.exists():
                raise BenchError(f"py-spy wrote no profile; see {RUN / 'py-spy.log'}")
            report.profile(name, mode, summarize_profile(raw.read_text()),
                           raw, svg)
        finally:
            procs.stop(server.proc)


def _by_cpu_use(pids, seconds):
    """`pids`, the one that used the most CPU over the next `seconds` first."""
    before = {pid: cpu_seconds(pid) for pid in pids}
    time.sleep(seconds)
    return sorted(pids, key=lambda pid: before[pid] - cpu_seconds(pid))


def _py_spy(procs, pid, output, fmt, seconds):
    return procs.start([VENV / "bin" / "py-spy", "record", "--pid", pid,
                        "--duration", seconds, "--rate", 200, "--nolineno",
                        "--format", fmt, "--output", output],
                       RUN / "py-spy.log")


def summarize_profile(folded):
    """Self and total shares per function and self share per file, from py-spy's raw output."""
    self_counts, total_counts, file_counts, category_counts = {}, {}, {}, {}
    samples = 0
    for line in folded.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        count = int(count)
        frames = [_frame_name(f) for f in stack.split(";")]
        samples += count
        leaf = frames[-1]
        self_counts[leaf] = self_counts.get(leaf, 0) + count
        file_counts[_frame_file(leaf)] = file_counts.get(_frame_file(leaf), 0) + count
        for frame in set(frames):
            total_counts[frame] = total_counts.get(frame, 0) + count
        category = _category(frames)
        category_counts[category] = category_counts.get(category, 0) + count
    return dict(samples=samples, categories=_shares(category_counts, samples),
                self=_shares(self_counts, samples),
                total=_shares(total_counts, samples),
                files=_shares(file_counts, samples))


# Where a sample's time goes: the frame nearest the leaf that matches one of
# these, in this order of frames; "other" when none does.
CATEGORIES = (
    ("socket send (greenio send loop, the syscall)",
     re.compile(r"^(_send_loop|sendall|send) \((eventlet/)?greenio|"
                r"^write \(socket\.py|^sendall \(worker/threads/sockets\.py")),
    ("socket recv (greenio recv loop, the syscall)",
     re.compile(r"^(_recv_loop|recv|recv_into) \((eventlet/)?greenio|"
                r"^readinto \(socket\.py|^recv(_now)? \(worker/threads/sockets\.py")),
    ("hub or I/O threads: epoll wait, timers, parking, switches",
     re.compile(r"\(hubs/|\(eventlet/hubs|^switch \(|timeout\.py|"
                r"\(worker/(green|threads)/parking\.py|\(worker/threads/engine\.py")),
    ("access log: logging, oslo.log formatting, file write",
     re.compile(r"\(logging/|oslo_log/|oslo_context/|\(tz/|\(dateutil|"
                r"log_request|log_date_time_string|\(accesslog/|^_log_access ")),
    # The apps and what they are made of: json-api's WebOb and
    # oslo.middleware (which reads its options through oslo.config).
    ("the app (benchapps, WebOb, oslo.middleware, json)",
     re.compile(r"benchapps|\(webob/|oslo_middleware/|\(json/|\(uuid\.py|"
                r"\(inspect\.py|oslo_config/")),
    ("request head: read, parse, build environ",
     re.compile(r"\(http/(head|body|environ)\.py|\(worker/(socket_reader|request_body)\.py|"
                r"_receive_head|environ_for|http/server|http/client|email/")),
    ("response: status line, headers, writes (not the send itself)",
     re.compile(r"\(http/response\.py|\(worker/response\.py|"
                r"^(write|start_response) \(eventlet/wsgi")),
    # What a new connection costs besides its request: accepting it (the
    # syscall, eventlet's socket wrapper, balanced accepting) and ending it.
    ("connection accept: syscall, socket wrapper, accept turns",
     re.compile(r"^accept \(|\(accept_board\.py|\(worker/accept_turns\.py|"
                r"^server \(eventlet/wsgi")),
    ("connection end: shutdown and close",
     re.compile(r"\(worker/client_sockets\.py|^_real_close \(|^close \(socket\.py|"
                r"^close \(eventlet/greenio")),
    ("request loop: the connection and the exchange, ours",
     re.compile(r"\(worker/(connection|exchange|app_server)\.py")),
    ("units: green runners or request threads taking connections",
     re.compile(r"\(worker/green/runners\.py|\(worker/threads/pool\.py|"
                r"^process_request \(eventlet/wsgi")),
)


def _category(frames):
    for frame in reversed(frames):
        for label, pattern in CATEGORIES:
            if pattern.search(frame):
                return label
    return "other: the request loop outside the above"


def _frame_name(frame):
    # py-spy: "function (path/file.py)"; keep the last two path parts.
    match = re.match(r"(.*) \((.*)\)$", frame.strip())
    if not match:
        return frame.strip()
    name, path = match.groups()
    return f"{name} ({'/'.join(path.split('/')[-2:])})"


def _frame_file(frame):
    match = re.search(r"\((.*)\)$", frame)
    return match.group(1) if match else frame


def _shares(counts, samples):
    ranked = sorted(counts.items(), key=lambda item: -item[1])
    return [(name, count / samples) for name, count in ranked] if samples else []
