"""What only swift needs: its workers told where swift.conf is, and a memcached."""

import contextlib
import os
import shutil
import socket
import subprocess
import time

from interop_support.client import CheckFailed

# swift reads swift.conf from /etc/swift unless its own server
# (swift-proxy-server) applies swift_dir with set_swift_dir(). The recipe
# keeps swift.conf in /etc/swift, as operators do; a run keeps it under its
# root, so the workers get the same call, once swift's utils are imported.
# Nothing is imported until then: the supervisor stays free of swift.
_SWIFT_DIR_HOOK = '''\
import importlib.abc, importlib.machinery, os, sys


class _ApplySwiftDir(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "swift.common.utils":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        execute = spec.loader.exec_module

        def exec_module(module):
            execute(module)
            module.set_swift_dir(os.environ["INTEROP_SWIFT_DIR"])
        spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, _ApplySwiftDir())
'''


def swift_dir_env(root, swift_dir):
    """Environment that makes every swift process of the run read `swift_dir`."""
    hook_dir = os.path.join(root, "interop-hook")
    os.makedirs(hook_dir, exist_ok=True)
    with open(os.path.join(hook_dir, "sitecustomize.py"), "w") as f:
        f.write(_SWIFT_DIR_HOOK)
    return {"PYTHONPATH": hook_dir, "INTEROP_SWIFT_DIR": swift_dir}


@contextlib.contextmanager
def memcached(port):
    """A memcached of our own on 127.0.0.1:`port`, for the time of the block."""
    binary = shutil.which("memcached")
    if not binary:
        raise CheckFailed("memcached is not installed (apt-get install memcached)")
    command = [binary, "-l", "127.0.0.1", "-p", str(port), "-U", "0"]
    if os.getuid() == 0:
        command += ["-u", "root"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        _wait_for_port(port, process, "memcached")
        yield
    finally:
        process.kill()
        process.wait()


def _wait_for_port(port, process, what, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise CheckFailed(f"{what} exited with status {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.1)
    raise CheckFailed(f"{what} did not listen on port {port}")
