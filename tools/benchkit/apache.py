"""Apache 2.4 with mod_proxy_uwsgi in front, configured as devstack's write_uwsgi_config (lib/apache) writes it.

devstack mounts each API at a path and passes it to the API's uwsgi socket:

    ProxyPass "/identity" "unix:/var/run/uwsgi/keystone-wsgi-public.socket|uwsgi://uwsgi-uds-keystone-wsgi-public" retry=0 acquire=1

Here each backend is mounted at /<server name>, and the rest of the server
config is Debian's default for apache2 (apache2.conf and mpm_event.conf:
keep-alive on, event MPM, a combined access log), written into one file so
that the bench's Apache reads nothing under /etc/apache2. It runs in the
foreground as an unprivileged user (nobody when the bench is root), on a
free port, with its pid file, logs and runtime files under .bench/run.
"""

import os
import pwd
import socket
import time

from .installs import ensure_debian_packages
from .places import HOST, RUN
from .waiting import free_port, wait_until

APACHE = "/usr/sbin/apache2"
MODULES = "/usr/lib/apache2/modules"
# {file that shows the package is installed: Debian package}
PACKAGES = {APACHE: "apache2",
            f"{MODULES}/mod_proxy_uwsgi.so": "libapache2-mod-proxy-uwsgi"}
# The modules Debian's apache2 does not build in that this config uses
# (log_config, unixd and version are built in).
LOADED = ("mpm_event", "authz_core", "proxy", "proxy_uwsgi")
UNPRIVILEGED = "nobody"


def ensure_apache():
    ensure_debian_packages(PACKAGES)


def proxy_pass(mount, socket_path, name):
    """devstack's line for one API: its mount point to its uwsgi socket."""
    return (f'ProxyPass "{mount}" "unix:{socket_path}|uwsgi://uwsgi-uds-{name}" '
            f'retry=0 acquire=1')


def httpd_conf(port, run_dir, backends):
    """The whole Apache config; `backends`: {server name: its uwsgi socket path}."""
    lines = [f"ServerRoot {run_dir}", f"DefaultRuntimeDir {run_dir}",
             f"PidFile {run_dir}/httpd.pid", "ServerName localhost",
             f"Listen {HOST}:{port}"]
    lines += [f"LoadModule {name}_module {MODULES}/mod_{name}.so"
              for name in LOADED]
    lines += [
        # Debian's apache2.conf.
        "Timeout 300", "KeepAlive On", "MaxKeepAliveRequests 100",
        "KeepAliveTimeout 5", "HostnameLookups Off",
        f"ErrorLog {run_dir}/error.log", "LogLevel warn",
        'LogFormat "%h %l %u %t \\"%r\\" %>s %O \\"%{Referer}i\\" '
        '\\"%{User-Agent}i\\"" combined',
        f"CustomLog {run_dir}/access.log combined",
        # Debian's mods-available/mpm_event.conf.
        "StartServers 2", "MinSpareThreads 25", "MaxSpareThreads 75",
        "ThreadLimit 64", "ThreadsPerChild 25", "MaxRequestWorkers 150",
        "MaxConnectionsPerChild 0",
    ]
    lines += [proxy_pass(f"/{name}", path, name) for name, path in backends.items()]
    return "\n".join(lines) + "\n"


def unprivileged_user():
    """(uid, gid) for Apache when the bench runs as root; None to run it as the bench's user."""
    if os.geteuid() != 0:
        return None
    entry = pwd.getpwnam(UNPRIVILEGED)
    return entry.pw_uid, entry.pw_gid


def start_apache(procs, backends):
    """Start Apache in front of `backends` ({name: socket path}); returns (proc, base URL, run dir)."""
    run_dir = RUN / "apache"
    run_dir.mkdir(parents=True, exist_ok=True)
    user = unprivileged_user()
    if user:
        os.chown(run_dir, *user)
    port = free_port()
    conf = run_dir / "httpd.conf"
    conf.write_text(httpd_conf(port, run_dir, backends))
    log = run_dir / "foreground.log"
    proc = procs.start([APACHE, "-f", conf, "-DFOREGROUND"], log,
                       env={"PATH": os.environ.get("PATH", ""), "LANG": "C"},
                       cwd=run_dir, user=user)
    wait_until(lambda: _accepts(port), 30, "Apache to listen", proc,
               run_dir / "error.log")
    return proc, f"http://{HOST}:{port}", run_dir


def socket_dir():
    """Where the backends' Unix sockets go: a directory Apache's user can reach."""
    path = RUN / "sockets"
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o755)
    return path


def _accepts(port):
    try:
        with socket.create_connection((HOST, port), timeout=1):
            return True
    except OSError:
        time.sleep(0.05)
        return False

