"""systemd's notify protocol (sd_notify): datagrams to $NOTIFY_SOCKET, a no-op without it."""

import logging
import os
import socket
import time

LOG = logging.getLogger(__name__)


def notify(*assignments):
    """Send 'NAME=value' lines to systemd; failures are logged, never raised."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    message = "\n".join(assignments).encode()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(message)
    except OSError as exc:
        LOG.warning("Cannot notify systemd at %s: %s", address, exc)


def ready():
    notify("READY=1", f"MAINPID={os.getpid()}", "STATUS=serving")


def reloading():
    # systemd 253+ wants the monotonic time with RELOADING=1 to order the messages.
    usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    notify("RELOADING=1", f"MONOTONIC_USEC={usec}", "STATUS=reloading")


def stopping():
    notify("STOPPING=1", "STATUS=stopping")
