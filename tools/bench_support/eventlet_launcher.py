"""Bare eventlet peer: one listening socket, forked workers, eventlet.wsgi.server with its defaults.

Usage: eventlet_launcher.py PASTE_INI APP_NAME WORKERS PORT_FILE MAX_SECONDS

The parent only binds, forks and waits; each worker monkey-patches, loads
the paste app and serves. Workers die with the parent (PDEATHSIG), and the
parent stops everything after MAX_SECONDS whatever happens.
"""

import ctypes
import os
import signal
import sys
import traceback
import warnings

PR_SET_PDEATHSIG = 1


def main():
    ini, name, workers, port_file, max_seconds = sys.argv[1:]
    serve_forked(int(workers), port_file, max_seconds,
                 lambda sock: _serve(sock, ini, name))


def serve_forked(workers, port_file, max_seconds, serve):
    """Bind, fork `workers` children that run serve(sock), write the port to port_file, wait.

    Also what the floor reference (floor_launcher.py) runs on.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import eventlet
    sock = eventlet.listen(("127.0.0.1", 0))
    children = [_fork_worker(sock, serve) for _ in range(workers)]
    _stop_on(signal.SIGTERM, children)
    _stop_on(signal.SIGINT, children)
    _stop_on(signal.SIGALRM, children)
    signal.alarm(int(max_seconds))
    with open(port_file + ".tmp", "w") as f:
        f.write(str(sock.getsockname()[1]))
    os.rename(port_file + ".tmp", port_file)
    while True:
        try:
            os.wait()
        except ChildProcessError:
            return


def _fork_worker(sock, serve):
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM):
            signal.signal(signum, signal.SIG_DFL)
        serve(sock)
        code = 0
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(code)


def _serve(sock, ini, name):
    import eventlet
    eventlet.monkey_patch()
    import eventlet.wsgi
    from paste.deploy import loadapp
    app = loadapp("config:" + os.path.abspath(ini), name=name)
    eventlet.wsgi.server(sock, app)


def _stop_on(signum, children):
    def stop(signum, frame):
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    signal.signal(signum, stop)


if __name__ == "__main__":
    main()
