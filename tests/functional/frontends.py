"""Apache and nginx in front of service-api, as OpenStack deployments run them: installed, configured, started by a test.

Each runs in the foreground with a configuration of its own in a temporary
directory, on a free port, and is killed when the test ends. Apache's
mount is the line devstack's write_uwsgi_config (lib/apache) writes:

    ProxyPass "/identity" "unix:/var/run/uwsgi/keystone-api.socket|uwsgi://uwsgi-uds-keystone-api" retry=0 acquire=1

with only the socket's path changed; devstack enables mod_proxy and
mod_proxy_uwsgi for it. nginx's is the uwsgi_pass equivalent of that mount.
"""

import os
import subprocess

from tests.functional import debian
from tests.functional.daemon import port_is_closed, wait_until

APACHE_MODULES = "/usr/lib/apache2/modules"
NGINX_UWSGI_PARAMS = "/etc/nginx/uwsgi_params"
# Debian's packages for each front end.
PACKAGES = {"apache": ["apache2", "libapache2-mod-proxy-uwsgi"], "nginx": ["nginx"]}
# What the front end's workers run as when it starts as root; the socket
# must let them connect (devstack's uWSGI sockets are chmod-socket = 666).
WORKER_USER = "www-data"


def install(kind):
    """Install the front end from Debian's packages if missing; return why it cannot be ('' when it is there)."""
    if _binary(kind):
        return ""
    why = debian.apt_install(*PACKAGES[kind])
    if why:
        return why
    return "" if _binary(kind) else f"{' '.join(PACKAGES[kind])} installed no {kind}"


def _binary(kind):
    if kind == "apache":
        binary = debian.find("apache2")
        if binary and os.path.exists(os.path.join(APACHE_MODULES, "mod_proxy_uwsgi.so")):
            return binary
        return None
    return debian.find("nginx")


def devstack_proxy_pass(url, socket_path, name):
    """The line devstack's write_uwsgi_config writes for an API mounted at `url` (its trailing space included)."""
    return (f'ProxyPass "{url}" "unix:{socket_path}|uwsgi://uwsgi-uds-{name}" '
            "retry=0 acquire=1 ")


def apache_config(directory, port, site_lines):
    """A whole httpd.conf: Debian's modules that devstack enables, and `site_lines` as devstack's site file."""
    as_root = os.geteuid() == 0
    lines = [
        f"ServerRoot {directory}",
        f"Listen 127.0.0.1:{port}",
        "ServerName localhost",
        f"PidFile {directory}/httpd.pid",
        f"DefaultRuntimeDir {directory}",
        f"ErrorLog {directory}/error.log",
        "LogLevel info",
        'LogFormat "%h \\"%r\\" %>s %b" short',
        f"CustomLog {directory}/access.log short",
    ]
    for module in ("mpm_event", "authz_core", "proxy", "proxy_uwsgi"):
        lines.append(f"LoadModule {module}_module {APACHE_MODULES}/mod_{module}.so")
    if as_root:
        lines += [f"User {WORKER_USER}", f"Group {WORKER_USER}"]
    return "\n".join(lines + list(site_lines)) + "\n"


def nginx_config(directory, port, locations):
    """A whole nginx.conf in the foreground, its files under `directory`, serving `locations` (text)."""
    temp = "\n".join(f"    {kind}_temp_path {directory}/{kind}_temp;"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    user = f"user {WORKER_USER};\n" if os.geteuid() == 0 else ""
    return (f"{user}daemon off;\npid {directory}/nginx.pid;\n"
            f"error_log {directory}/error.log info;\n"
            "events { worker_connections 1024; }\n"
            "http {\n"
            f"    access_log {directory}/access.log;\n{temp}\n"
            f"    server {{\n        listen 127.0.0.1:{port};\n{locations}\n    }}\n"
            "}\n")


def nginx_uwsgi_location(url, socket_path):
    """nginx's equivalent of devstack's ProxyPass: the app sees SCRIPT_NAME=url and the rest as PATH_INFO."""
    return (f"        location ~ ^{url}(/|$) {{\n"
            f"            include {NGINX_UWSGI_PARAMS};\n"
            f"            uwsgi_param SCRIPT_NAME {url};\n"
            # Take SCRIPT_NAME off PATH_INFO, as uWSGI does on this modifier.
            "            uwsgi_modifier1 30;\n"
            f"            uwsgi_pass unix:{socket_path};\n"
            "        }")


class FrontEnd:
    """One Apache or nginx process, in the foreground, killed by stop()."""

    def __init__(self, kind, directory, port, config_text):
        self.kind = kind
        self.address = ("127.0.0.1", port)
        self.directory = directory
        config = os.path.join(directory, f"{kind}.conf")
        with open(config, "w") as f:
            f.write(config_text)
        binary = _binary(kind)
        if kind == "apache":
            command = [binary, "-f", config, "-DFOREGROUND"]
            check = [binary, "-f", config, "-t"]
        else:
            command = [binary, "-c", config, "-p", directory]
            check = command + ["-t"]
        checked = subprocess.run(check, capture_output=True, text=True, timeout=60)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        self._output = open(os.path.join(directory, f"{kind}.out"), "wb")
        self.process = subprocess.Popen(command, stdout=self._output, stderr=subprocess.STDOUT)
        wait_until(lambda: self.process.poll() is not None or not port_is_closed(*self.address),
                   timeout=30, message=f"{kind} to listen")
        assert self.process.poll() is None, self.log()

    def log(self):
        texts = []
        for name in (f"{self.kind}.out", "error.log", "access.log"):
            try:
                with open(os.path.join(self.directory, name), errors="replace") as f:
                    texts.append(f"--- {name}\n{f.read()[-3000:]}")
            except FileNotFoundError:
                pass
        return "\n".join(texts)

    def stop(self):
        """TERM: both stop at once, their workers with them (a KILL would leave the workers)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._output.close()
