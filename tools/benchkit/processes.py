"""The processes the bench starts, and what /proc says about them.

Every process leads its own process group, dies with the bench (PDEATHSIG)
and is stopped, group and all, at the end, on Ctrl-C and on error.
"""

import ctypes
import os
import signal
import statistics
import subprocess
import time

from .console import BenchError

PR_SET_PDEATHSIG = 1
LIBC = ctypes.CDLL(None, use_errno=True)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _die_with_bench():
    # Runs in the child between fork and exec: the kernel sends SIGTERM
    # when the bench dies, even by SIGKILL.
    LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Processes:
    """Every process the bench starts, each leading its own process group."""

    def __init__(self):
        self._started = []

    def start(self, argv, log_path=None, env=None, cwd=None, user=None):
        """Start `argv` in the background; `user`: (uid, gid) to run it as."""
        out = open(log_path, "ab") if log_path else subprocess.DEVNULL
        identity = {"user": user[0], "group": user[1], "extra_groups": []} if user else {}
        try:
            proc = subprocess.Popen(
                [str(arg) for arg in argv], stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                start_new_session=True, preexec_fn=_die_with_bench, **identity)
        finally:
            if log_path:
                out.close()
        self._started.append(proc)
        return proc

    def run(self, argv, timeout, env=None):
        """Run to completion and return its output; killed if it overruns `timeout`."""
        proc = subprocess.Popen(
            [str(arg) for arg in argv], stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
            start_new_session=True, preexec_fn=_die_with_bench, text=True)
        self._started.append(proc)
        try:
            output, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop(proc, grace=0)
            raise BenchError(f"{argv[0]} overran {timeout} s") from None
        self._started.remove(proc)
        return proc.returncode, output

    def stop(self, proc, grace=15.0):
        """SIGTERM to the whole group, SIGKILL to what is left after `grace` seconds."""
        _signal_group(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and _group_alive(proc):
            time.sleep(0.05)
        if _group_alive(proc):
            _signal_group(proc.pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while _group_alive(proc) and time.monotonic() < deadline:
                time.sleep(0.05)
        if proc in self._started:
            self._started.remove(proc)

    def stop_all(self):
        for proc in list(self._started):
            self.stop(proc, grace=5.0)


def _signal_group(pgid, signum):
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        pass


def _group_alive(proc):
    proc.poll()
    return bool(group_members(proc.pid))


def _stat_fields(pid):
    """Fields of /proc/PID/stat after the command name: [0] is the state (field 3)."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def group_members(pgid):
    """Live (not zombie) processes of process group `pgid`."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = _stat_fields(entry)
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry))
    return members


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(child) for child in f.read().split()]
    except OSError:
        return []


def cpu_seconds(pid):
    fields = _stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def cpu_or_zero(pid):
    try:
        return cpu_seconds(pid) if pid else 0.0
    except OSError:
        return 0.0


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise BenchError(f"no VmRSS for pid {pid}")


def worker_memory(pids):
    """Mean RSS and PSS of `pids` in KiB, from /proc/PID/smaps_rollup."""
    rolls = [_smaps_rollup(pid) for pid in pids]
    rolls = [r for r in rolls if r]
    if not rolls:
        return {"rss_kib": None, "pss_kib": None, "workers": 0}
    return {"rss_kib": statistics.mean(r["Rss"] for r in rolls),
            "pss_kib": statistics.mean(r["Pss"] for r in rolls),
            "workers": len(rolls)}


def _smaps_rollup(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            return {key.rstrip(":"): int(value) for key, value, *_ in
                    (line.split() for line in f) if key in ("Rss:", "Pss:")}
    except OSError:
        return None


def connection_owners(pids, server_port, client_ports):
    """{client port: pid} for the loopback connections to `server_port` that one of `pids` holds."""
    inodes = {}
    for pid in pids:
        for inode in _socket_inodes(pid):
            inodes[inode] = pid
    wanted = set(client_ports)
    owners = {}
    for local_port, remote_port, inode in _tcp_connections():
        if local_port == server_port and remote_port in wanted and inode in inodes:
            owners[remote_port] = inodes[inode]
    return owners


def _socket_inodes(pid):
    found = []
    try:
        entries = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return found
    for entry in entries:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{entry}")
        except OSError:
            continue
        if target.startswith("socket:["):
            found.append(int(target[8:-1]))
    return found


def _tcp_connections():
    """(local port, remote port, inode) of every IPv4 TCP socket, from /proc/net/tcp."""
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], int(fields[9])
            yield int(local.split(":")[1], 16), int(remote.split(":")[1], 16), inode
