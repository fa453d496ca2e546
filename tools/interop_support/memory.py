"""The resident memory of a daemon's workers, read from /proc."""

import contextlib
import os

_WORKER_TITLE = "service-api: worker "


def worker_rss(supervisor_pid):
    """{app: largest worker RSS in MiB} of the supervisor's workers."""
    rss = {}
    for pid in _children(supervisor_pid):
        app = _worker_app(pid)
        kib = _vm_rss_kib(pid)
        if app and kib:
            rss[app] = max(rss.get(app, 0), kib / 1024)
    return rss


def _children(parent):
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == parent:
                children.append(int(entry))
    return children


def _worker_app(pid):
    with contextlib.suppress(OSError):
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            title = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        if title.startswith(_WORKER_TITLE):
            return title[len(_WORKER_TITLE):].split()[0]
    return None


def _vm_rss_kib(pid):
    with contextlib.suppress(OSError):
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    return None
