"""One run of a recipe: its commands, then service-api started, reloaded under load, stopped."""

import contextlib
import dataclasses
import os
import shlex
import signal
import subprocess
import time

from interop_support.client import CheckFailed
from interop_support import report
from tests.functional.load import Load

READY_LINE = "Serving: every worker of every app is ready"
RELOADED_LINE = "Reload complete"
START_TIMEOUT = 240
COMMAND_TIMEOUT = 900       # a first install from PyPI takes minutes


@dataclasses.dataclass
class Run:
    """One service being served: where it lives and how to reach its apps."""
    service: object         # services.Service
    relocation: object      # recipes.Relocation
    repo: str               # the clone the recipe's commands run from
    env: dict               # the environment of every command and of the daemon
    log_path: str
    model: str = None       # the worker model its apps are served in
    ports: dict = None      # app -> port, once configured
    process: object = None
    ready_seconds: float = None

    def path(self, operator_path):
        return self.relocation.path(operator_path)

    def url(self, app):
        return ("127.0.0.1", self.ports[app])


def run_commands(run, commands):
    """Run recipe commands, moved to the run's paths and ports, each to its end."""
    for command in commands:
        moved = run.relocation.command(command)
        result = subprocess.run(["sh", "-ec", moved], capture_output=True, text=True,
                                cwd=run.repo, env=run.env, stdin=subprocess.DEVNULL,
                                timeout=COMMAND_TIMEOUT)
        if result.returncode != 0:
            raise CheckFailed(f"`{report.shorten(command, 70)}` exited {result.returncode}: "
                              f"{report.reason(result.stderr + result.stdout)}")


def start(run, command):
    """Start the recipe's daemon command; return once every worker serves."""
    started = time.monotonic()
    with open(run.log_path, "ab") as log:
        run.process = subprocess.Popen(
            shlex.split(run.relocation.command(command)), stdout=log,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=run.repo,
            env=run.env, start_new_session=True)
    wait_for_log(run, READY_LINE, 1, START_TIMEOUT)
    run.ready_seconds = time.monotonic() - started


def wait_for_log(run, text, count, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _log_text(run).count(text) >= count:
            return
        if run.process.poll() is not None:
            raise CheckFailed(f"service-api exited with status {run.process.returncode}: "
                              f"{why(run)}")
        time.sleep(0.1)
    raise CheckFailed(f"no {text!r} after {timeout} s: {why(run)}")


def _log_text(run):
    with open(run.log_path, errors="replace") as f:
        return f.read()


def why(run):
    """The line of the log most likely to say what went wrong."""
    lines = [line for line in _log_text(run).splitlines() if line.strip()]
    for marker in ("service-api: error:", " failed: ", "Error: ", "ERROR"):
        found = [line for line in lines if marker in line]
        if found:
            return report.shorten(found[-1])
    return report.shorten(lines[-1]) if lines else "(empty log)"


def reload_under_load(run):
    """SIGHUP while clients of every app keep asking; every request must get its 200."""
    loads = [Load(run.url(app), keep_alive=3, fresh=3, path=path, max_seconds=300)
             for app, path in run.service.load_paths.items()]
    for load in loads:
        load.__enter__()
    try:
        for load in loads:
            load.wait_for_served(20, timeout=60)
        if run.service.reload_change:
            run.service.reload_change[0](run)
        os.kill(run.process.pid, signal.SIGHUP)
        wait_for_log(run, RELOADED_LINE, 1, START_TIMEOUT)
        for load in loads:
            load.wait_for_served(50, timeout=60)
    except AssertionError as exc:   # Load's word for a stall
        raise CheckFailed(f"SIGHUP under load: {exc}") from None
    finally:
        for load in loads:
            load.stop()
    failures = [f for load in loads for f in load.failures]
    if failures:
        served = sum(load.served for load in loads)
        raise CheckFailed(f"SIGHUP under load: {len(failures)} of "
                          f"{served + len(failures)} requests failed: {failures[0]}")
    if run.service.reload_change:
        run.service.reload_change[1](run)


def stop(run):
    os.kill(run.process.pid, signal.SIGTERM)
    try:
        status = run.process.wait(timeout=120)
    except subprocess.TimeoutExpired:
        raise CheckFailed("SIGTERM: service-api still running after 120 s") from None
    if status != 0:
        raise CheckFailed(f"SIGTERM: exit status {status}: {why(run)}")


def end(process):
    """End a process we started, and its session when it leads one, whatever state it is in."""
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        if os.getsid(process.pid) == process.pid:
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
    process.wait()
