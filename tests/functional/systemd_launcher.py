"""Start a command as systemd starts a socket-activated service.

    python systemd_launcher.py NAME[:NAME...] FD[,FD...] COMMAND...

The sockets FD... (inherited from the caller) become descriptors 3, 4, ...
in order, and LISTEN_PID (this process's pid, which exec keeps),
LISTEN_FDS and LISTEN_FDNAMES say so, as systemd's service manager does
between its fork and its exec.
"""

import fcntl
import os
import sys

FIRST = 3
# Above any descriptor the moves below write to.
OUT_OF_THE_WAY = 100


def main(names, fds, command):
    moved = [fcntl.fcntl(fd, fcntl.F_DUPFD, OUT_OF_THE_WAY) for fd in fds]
    for fd in fds:
        os.close(fd)
    for offset, fd in enumerate(moved):
        os.dup2(fd, FIRST + offset)  # inheritable, as systemd passes them
        os.close(fd)
    os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS=str(len(fds)),
                      LISTEN_FDNAMES=names)
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1], [int(fd) for fd in sys.argv[2].split(",")], sys.argv[3:])
