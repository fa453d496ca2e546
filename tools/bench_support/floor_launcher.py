"""Floor reference, not a peer: eventlet green threads that answer every request with constant bytes.

Usage: floor_launcher.py PASTE_INI APP_NAME WORKERS PORT_FILE MAX_SECONDS
(the paste arguments are ignored: there is no app).

No HTTP parsing, no WSGI, no access log: one recv, one sendall per
request, on eventlet's hub, with forked workers on one listening socket.
It shows how far eventlet, the kernel and wrk go on this machine, so that
what an HTTP server adds above it can be told apart from what none can
avoid. It only understands wrk's requests: one at a time per connection.
"""

import sys

from eventlet_launcher import serve_forked

BODY = b"Hello, World!\n"
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n"
KEEP_ALIVE = HEAD + b"\r\n" + BODY
CLOSE = HEAD + b"Connection: close\r\n\r\n" + BODY


def main():
    _, _, workers, port_file, max_seconds = sys.argv[1:]
    serve_forked(int(workers), port_file, max_seconds, _serve)


def _serve(sock):
    import eventlet
    pool = eventlet.GreenPool(100_000)
    while True:
        client, _ = sock.accept()
        pool.spawn_n(_answer, client)


def _answer(client):
    try:
        while True:
            request = client.recv(65536)
            if not request:
                break
            if b"close" in request.lower():
                client.sendall(CLOSE)
                break
            client.sendall(KEEP_ALIVE)
    except OSError:
        pass
    finally:
        client.close()


if __name__ == "__main__":
    main()
