"""The ends of a client connection's life: its first settings, and its shutdown and close.

Errors here mean the client is gone already: nobody is left to tell.
"""

import socket


def ack_quickly(sock):
    """TCP_QUICKACK, as eventlet set it: no delayed ACK for what the client sends next."""
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, True)
    except (AttributeError, OSError):
        pass  # not Linux, or not TCP (a Unix socket)


def shut_down(sock):
    """Shut the connection down both ways: whoever waits to read from it wakes up."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def close(sock):
    shut_down(sock)
    sock.close()
