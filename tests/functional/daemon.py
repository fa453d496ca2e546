"""Run the real service-api as a subprocess and talk to it: HTTP, signals, exit status, log."""

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVICE_API = [sys.executable, "-m", "service"]


def wait_until(condition, timeout=10.0, interval=0.02, message="condition"):
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message}")
        time.sleep(interval)


# The worker model every app of a test's daemons gets, unless the test
# gives one: tests/functional/conftest.py runs each test with each model.
WORKER_MODEL = None


def model_options():
    """The worker_model option of the model this test runs with (none: the default)."""
    return {"worker_model": WORKER_MODEL} if WORKER_MODEL else {}


def model_groups(*apps):
    """Config file lines giving each of `apps` the worker model this test runs with."""
    return "".join(f"[{app}]\nworker_model = {WORKER_MODEL}\n"
                   for app in apps if WORKER_MODEL)


def write_config(directory, apps, paste, defaults=None):
    """Write svc.conf and api-paste.ini; `apps` maps name -> {option: value}."""
    lines = ["[DEFAULT]", f"enabled_apis = {', '.join(apps)}"]
    lines += [f"{key} = {value}" for key, value in (defaults or {}).items()]
    for name, options in apps.items():
        lines.append(f"[{name}]")
        options = {"listen": "127.0.0.1", "port": 0, "workers": 1,
                   **model_options(), **options}
        lines += [f"{key} = {value}" for key, value in options.items()
                  if value is not None]
    conf = os.path.join(directory, "svc.conf")
    with open(conf, "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(directory, "api-paste.ini"), "w") as f:
        f.write(textwrap.dedent(paste))
    return conf


class Daemon:
    """One service-api process; stderr (its log) goes to a file the test reads."""

    def __init__(self, directory, *args, env=None, log_path=None, launcher=(), pass_fds=(),
                 preexec_fn=None):
        output = os.path.join(directory, "service-api.log")
        self._log_file = open(output, "wb")
        # Where its log lands: its output, unless the test configured a file.
        self.log_path = log_path or output
        environ = dict(os.environ, PYTHONPATH=REPO, PYTHONUNBUFFERED="1")
        environ.update(env or {})
        # `launcher`: a command that execs the daemon's (passing it `pass_fds`);
        # `preexec_fn`: run in the daemon's process before it starts (its limits).
        self.process = subprocess.Popen(
            list(launcher) + SERVICE_API + list(args), stdout=self._log_file,
            stderr=subprocess.STDOUT, cwd=directory, env=environ, pass_fds=pass_fds,
            preexec_fn=preexec_fn)
        self.pid = self.process.pid
        self.urls = {}

    # The log.

    def log(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_for_log(self, pattern, timeout=10, count=1):
        regex = re.compile(pattern)
        return wait_until(lambda: len(regex.findall(self.log())) >= count,
                          timeout, message=f"{count} log line(s) {pattern!r}:\n"
                          + self.log()[-3000:])

    def wait_ready(self, timeout=20, count=1):
        def ready():
            if self.process.poll() is not None:
                raise AssertionError(f"service-api exited with "
                                     f"{self.process.returncode}:\n{self.log()}")
            return len(re.findall(r"Serving: every worker|Reload complete",
                                  self.log())) >= count
        wait_until(ready, timeout, message="service-api to be ready")
        self.urls = self.listening()

    def listening(self):
        """The latest address of every app, from the 'App NAME: URL' log lines."""
        return dict(re.findall(r"App (\S+): (https?://\S+) with", self.log()))

    # HTTP.

    def address(self, app):
        match = re.match(r"https?://\[?([^\]]+?)\]?:(\d+)$", self.urls[app])
        return match.group(1), int(match.group(2))

    def connection(self, app, timeout=10):
        host, port = self.address(app)
        return http.client.HTTPConnection(host, port, timeout=timeout)

    def raw(self, app, request, half_close=False):
        """Send raw bytes on a new connection; everything received until the server closes."""
        with socket.create_connection(self.address(app), timeout=10) as sock:
            try:
                sock.sendall(request)
                if half_close:
                    sock.shutdown(socket.SHUT_WR)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server answered and closed before reading it all
            return read_until_close(sock)

    def get(self, app, path="/", method="GET", body=None, headers=None):
        conn = self.connection(app)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    # Processes.

    def signal(self, signum):
        self.process.send_signal(signum)

    def wait_exit(self, timeout=20):
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("service-api did not exit:\n" + self.log())

    def workers(self, app=None):
        """{pid: title} of this daemon's worker processes (optionally of one app).

        The supervisor's children, told apart by their process titles.
        Without titles (setproctitle missing) no worker could be told from
        another, and a test comparing sets of them would pass on nothing:
        that raises instead. A child not yet titled (just forked) or gone
        is left out.
        """
        children = _children(self.pid)
        if _cmdline(self.pid) != "service-api: supervisor":
            if self.process.poll() is None:
                raise AssertionError(
                    "the supervisor has no process title (is setproctitle "
                    f"installed?): {_cmdline(self.pid)!r}")
            return {}  # gone: it has no workers
        found = {}
        for pid in children:
            title = _cmdline(pid)
            if title.startswith("service-api: worker ") and (
                    app is None or title == f"service-api: worker {app}"):
                found[pid] = title
        return found

    def stop(self):
        if self.process.poll() is None:
            # Listed first: once the supervisor is gone, so is the list.
            children = _children(self.pid)
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            for pid in children:
                _kill(pid)
        self._log_file.close()


def read_until_close(sock):
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return data


def _children(pid):
    """The pids of the children of process `pid`, forked by any of its threads."""
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except (FileNotFoundError, ProcessLookupError):
        return []  # gone
    children = []
    for thread in threads:
        try:
            with open(f"/proc/{pid}/task/{thread}/children") as f:
                children += [int(child) for child in f.read().split()]
        except ProcessLookupError:
            pass  # a thread that ended since it was listed
        except FileNotFoundError:
            if os.path.exists(f"/proc/{pid}/task/{thread}"):
                raise AssertionError("/proc/PID/task/TID/children is missing "
                                     "(a kernel without CONFIG_PROC_CHILDREN)")
    return children


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode().strip()
    except (FileNotFoundError, ProcessLookupError):
        return ""  # gone since it was listed (reading a dying one gives ESRCH)


def _kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def open_sockets(pid):
    """How many sockets process `pid` has open."""
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            count += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
        except OSError:
            pass  # closed since listed
    return count


def listening_ports(pid):
    """The TCP ports process `pid` listens on (Linux /proc): unlike a connect, never fooled by another process that took the port since."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue  # closed since listed
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            for row in list(rows)[1:]:
                fields = row.split()
                if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                    ports.add(int(fields[1].rpartition(":")[2], 16))
    return ports


def rss_kib(pid):
    """Resident memory of process `pid`, in KiB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for process {pid}")


def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def port_is_closed(host, port):
    """True when nothing accepts connections on host:port."""
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        return True
    return False


def free_port(host="127.0.0.1"):
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]
