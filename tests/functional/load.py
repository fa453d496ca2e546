"""HTTP load from threads in this process, counting every request served and failed."""

import http.client
import socket
import threading
import time


class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client's connection to a server on a Unix socket (its path is the address)."""

    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def connection(address, timeout=30):
    """An HTTP connection to `address`: (host, port), or a Unix socket's path."""
    if isinstance(address, str):
        return UnixHTTPConnection(address, timeout)
    return http.client.HTTPConnection(*address, timeout=timeout)


class Load:
    """Clients hammering one address (or Unix socket) until stop(); keep-alive and fresh-connection kinds.

    Every request must answer 200: anything else (an exception, another
    status) counts as a failure, with the error kept for the report.
    """

    def __init__(self, address, keep_alive=4, fresh=4, path="/",
                 max_seconds=300):
        self.address = address
        self.path = path
        self.served = 0
        self.failures = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        # A bound on every loop, whatever the test does.
        self._deadline = time.monotonic() + max_seconds
        self._threads = (
            [threading.Thread(target=self._keep_alive_client, daemon=True)
             for _ in range(keep_alive)]
            + [threading.Thread(target=self._fresh_client, daemon=True)
               for _ in range(fresh)])

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def stop(self):
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _running(self):
        return not self._stop.is_set() and time.monotonic() < self._deadline

    def _keep_alive_client(self):
        conn = connection(self.address)
        while self._running():
            if not self._request(conn):
                conn.close()
        conn.close()

    def _fresh_client(self):
        while self._running():
            conn = connection(self.address)
            self._request(conn, {"Connection": "close"})
            conn.close()

    def _request(self, conn, headers=None):
        try:
            conn.request("GET", self.path, headers=headers or {})
            response = conn.getresponse()
            response.read()
            ok = response.status == 200
            error = None if ok else f"status {response.status}"
            if response.will_close:
                conn.close()
        except (OSError, http.client.HTTPException) as exc:
            ok, error = False, repr(exc)
        with self._lock:
            if ok:
                self.served += 1
            else:
                self.failures.append(error)
        return ok

    def wait_for_served(self, count, timeout=30):
        deadline = time.monotonic() + timeout
        target = self.served + count
        while self.served < target:
            if time.monotonic() > deadline:
                raise AssertionError(f"load stalled at {self.served} requests; "
                                     f"failures: {self.failures[:5]}")
            time.sleep(0.01)
