"""From cfg.CONF to a plan: which apps, on which address, with how many workers.

Pure: reads options, checks them, returns plain data. Nothing here binds,
forks or imports application code; the supervisor acts on the plan and the
workers inherit it across the fork.
"""

import dataclasses
import os

from oslo_config import cfg

from service import conf as service_conf
from service import paste_ini
from service import source_files
from service import tls as service_tls
from service.accesslog import fields as access_fields
from service.conf import apps as service_conf_apps
from service.conf import files as conf_files
from service.errors import ConfigError


# sockaddr_un's sun_path holds 108 bytes, the last a NUL.
MAX_UNIX_SOCKET_PATH_BYTES = 107


@dataclasses.dataclass(frozen=True)
class AppLimits:
    """What protects an app's workers and clients from each other (service.conf.limits); 0 is none."""
    request_timeout: int = 0        # seconds
    max_requests: int = 0
    max_requests_jitter: int = 0
    max_worker_rss: int = 0         # MiB
    max_request_body_size: int = 0  # bytes


@dataclasses.dataclass(frozen=True)
class AppPlan:
    name: str
    listen: str
    port: int
    workers: int
    tls: service_tls.TlsSettings = None
    # How its workers serve: "eventlet" or "threads" (service.worker.model).
    worker_model: str = "eventlet"
    # Requests a threads-model worker serves at once.
    threads: int = 16
    # A Unix socket's path, served instead of listen and port.
    unix_socket: str = None
    unix_socket_mode: int = 0o660
    # "http", or "uwsgi" from a web server in front.
    protocol: str = "http"
    # systemd passed a socket named after this app: it is served instead.
    systemd_socket: bool = False
    limits: AppLimits = AppLimits()

    @property
    def address(self):
        """What the app listens on, as two apps may not share it."""
        if self.systemd_socket:
            return ("systemd", self.name)
        if self.unix_socket:
            return ("unix", self.unix_socket)
        return (self.listen, self.port)


@dataclasses.dataclass(frozen=True)
class WsgiSettings:
    pool_size: int
    max_header_line: int
    keep_alive: bool
    client_socket_timeout: int
    log_format: str
    # Seconds a request head may take from its first byte; 0: no limit.
    request_head_timeout: int = 0


@dataclasses.dataclass(frozen=True)
class SocketSettings:
    backlog: int
    tcp_keepidle: int


@dataclasses.dataclass(frozen=True)
class MetricsSettings:
    """The admin endpoint's address (metrics_listen, metrics_port)."""
    listen: str
    port: int

    @property
    def address(self):
        return (self.listen, self.port)


@dataclasses.dataclass(frozen=True)
class Plan:
    apps: tuple
    paste_file: str
    graceful_shutdown_timeout: int
    wsgi: WsgiSettings
    sockets: SocketSettings
    # The config files, in reading order: workers parse them into cfg.CONF.
    config_files: tuple = ()
    # What the operator should hear about but that does not stop a start.
    warnings: tuple = ()
    # The bytes of the config files and the paste ini as the plan read them.
    sources: source_files.SourceFiles = None
    # The admin endpoint; None when metrics_port is 0.
    metrics: MetricsSettings = None
    # Seconds a serving worker may stay silent, and an app may take to
    # build; 0: no limit (the options give 30 and 300).
    worker_timeout: int = 0
    app_build_timeout: int = 0

    def app(self, name):
        return next(app for app in self.apps if app.name == name)


def build_plan(conf, config_files, cpu_count=None, systemd_sockets=()):
    """Check the configuration `conf` parsed from `config_files`; return the Plan, or raise ConfigError.

    `systemd_sockets`: the names of the sockets systemd passed (socket
    activation); an app of one of these names serves that socket.
    """
    _require(config_files)
    names = _enabled_apis(conf)
    apps = tuple(_app_plan(conf, name, cpu_count or os.cpu_count() or 1,
                           name in systemd_sockets)
                 for name in names)
    _refuse_shared_addresses(apps)
    warnings = app_group_warnings(_sections(config_files), names)
    warnings += tuple(unused_option_warnings(apps))
    paste_file = _paste_file(conf)
    paste_ini.check(paste_file, names)
    return Plan(
        apps=apps, paste_file=paste_file,
        graceful_shutdown_timeout=_option(conf, "graceful_shutdown_timeout"),
        wsgi=_wsgi_settings(conf), sockets=_socket_settings(conf),
        config_files=tuple(config_files), warnings=warnings,
        sources=source_files.SourceFiles(tuple(config_files) + (paste_file,)),
        worker_timeout=_option(conf, "worker_timeout"),
        app_build_timeout=_option(conf, "app_build_timeout"),
        metrics=_metrics_settings(conf))


def _require(config_files):
    if not config_files:
        raise ConfigError(
            "no config file: none was given with --config-file or "
            "--config-dir, and there is no service-api.conf in "
            "~/.service-api/, ~/, /etc/service-api/ or /etc/")


def _wsgi_settings(conf):
    return WsgiSettings(
        pool_size=_option(conf, "wsgi_default_pool_size"),
        max_header_line=_option(conf, "max_header_line"),
        keep_alive=_option(conf, "wsgi_keep_alive"),
        client_socket_timeout=_option(conf, "client_socket_timeout"),
        log_format=_log_format(conf),
        request_head_timeout=_option(conf, "request_head_timeout"))


def _socket_settings(conf):
    return SocketSettings(backlog=_option(conf, "backlog"),
                          tcp_keepidle=_option(conf, "tcp_keepidle"))


def _metrics_settings(conf):
    port = _option(conf, "metrics_port")
    if not port:
        return None
    return MetricsSettings(listen=_option(conf, "metrics_listen"), port=port)


def _sections(config_files):
    try:
        return conf_files.sections(config_files)
    except Exception as exc:  # changed since oslo.config read it a moment ago
        raise ConfigError(f"cannot read the config files: {exc}") from None


def app_group_warnings(sections, names):
    """Warnings for keys in the app groups that are not service-api's; ConfigError for a misspelt one.

    An app group may hold the app's own options too, so an unknown key is
    only worth a warning, unless it is one edit away from one of ours
    (two for longer names): `listne = 127.0.0.1` silently ignored would
    leave the app listening on every address.
    """
    known = [opt.dest for opt in service_conf_apps.OPTS]
    warnings = []
    for name in names:
        for key in sections.get(name, {}):
            if key in known:
                continue
            meant = _misspelt(key, known)
            if meant:
                raise ConfigError(f"[{name}] {key}: app {name}: not an option; "
                                  f"did you mean {meant}?")
            warnings.append(f"[{name}] {key}: app {name}: not a service-api "
                            "option, ignored by service-api")
    return tuple(warnings)


def _misspelt(key, known):
    """The option of `known` that `key` looks like a typo of, or None."""
    for option in known:
        allowed = 1 if len(option) < 6 else 2
        if edit_distance(key.lower(), option) <= allowed:
            return option
    return None


def edit_distance(a, b):
    """Edits (insert, delete, replace, swap two neighbours) that turn `a` into `b`."""
    previous2, previous = None, list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            cost = min(previous[j] + 1, current[j - 1] + 1,
                       previous[j - 1] + (char_a != char_b))
            if (i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b):
                cost = min(cost, previous2[j - 2] + 1)
            current.append(cost)
        previous2, previous = previous, current
    return previous[-1]


def _option(conf, name, group=None):
    """Read one option; oslo.config checks values only now, so name the option on failure."""
    try:
        return conf[group][name] if group else conf[name]
    except (cfg.ConfigFileValueError, ValueError) as exc:
        # oslo.config's message leads with a repr of the location; keep the cause.
        cause = str(exc).rpartition("is not valid: ")[2]
        where = f"[{group or 'DEFAULT'}] {name}"
        raise ConfigError(f"{where}: invalid value: {cause}") from None


def _log_format(conf):
    log_format = _option(conf, "wsgi_log_format")
    error = access_fields.format_error(log_format)
    if error:
        raise ConfigError(f"[DEFAULT] wsgi_log_format: cannot make access "
                          f"lines with it: {error}")
    return log_format


def _enabled_apis(conf):
    names = [name.strip() for name in _option(conf, "enabled_apis")]
    names = [name for name in names if name]
    if not names:
        raise ConfigError("[DEFAULT] enabled_apis: no apps to serve; "
                          "list the paste sections to serve, e.g. "
                          "enabled_apis = home")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ConfigError(f"[DEFAULT] enabled_apis: {', '.join(repeated)} "
                          "listed more than once")
    return names


def _app_plan(conf, name, cpu_count, systemd_socket=False):
    if name == "DEFAULT" or name not in conf.list_all_sections():
        raise ConfigError(f"[DEFAULT] enabled_apis: app {name}: the config "
                          f"files have no [{name}] group (it needs at least "
                          "a port)")
    if name not in conf:
        service_conf.register_app_opts(conf, name)
    unix_socket = _unix_socket(conf, name)
    port = _option(conf, "port", name)
    if port is None and not (unix_socket or systemd_socket):
        raise ConfigError(f"[{name}] port: app {name}: required option is "
                          "not set (or set unix_socket)")
    workers = _option(conf, "workers", name)
    protocol = _option(conf, "protocol", name)
    if protocol == "uwsgi" and (_option(conf, "cert_file", name)
                                or _option(conf, "key_file", name)):
        raise ConfigError(f"[{name}] protocol: app {name}: uwsgi is spoken "
                          "to a web server in front, which does TLS: remove "
                          "cert_file and key_file")
    tls = _tls_settings(conf, name)
    return AppPlan(name=name, listen=_option(conf, "listen", name),
                   port=port, workers=workers or cpu_count, tls=tls,
                   worker_model=_option(conf, "worker_model", name),
                   threads=_option(conf, "threads", name),
                   unix_socket=unix_socket,
                   unix_socket_mode=int(_option(conf, "unix_socket_mode", name), 8),
                   protocol=protocol, systemd_socket=systemd_socket,
                   limits=_app_limits(conf, name))


def _app_limits(conf, name):
    return AppLimits(**{field.name: _option(conf, field.name, name)
                        for field in dataclasses.fields(AppLimits)})


def _unix_socket(conf, name):
    if not _option(conf, "unix_socket", name):
        return None
    path = _path(conf, "unix_socket", name)
    if len(os.fsencode(path)) > MAX_UNIX_SOCKET_PATH_BYTES:
        raise ConfigError(f"[{name}] unix_socket: app {name}: {path} is too "
                          f"long for a Unix socket (at most "
                          f"{MAX_UNIX_SOCKET_PATH_BYTES} bytes)")
    return path


def unused_option_warnings(apps):
    """Options an app sets that its socket makes pointless (port has no default: set, it was meant)."""
    for app in apps:
        if app.unix_socket and app.port is not None and not app.systemd_socket:
            yield (f"[{app.name}] port: app {app.name}: not used, the app "
                   f"listens on its unix_socket {app.unix_socket}")


def _tls_settings(conf, name):
    """TLS settings of app `name`, checked by loading them; None for plain HTTP."""
    cert_file, key_file, ca_file = (
        _option(conf, option, name) and _path(conf, option, name)
        for option in ("cert_file", "key_file", "ca_file"))
    if not (cert_file or key_file or ca_file):
        return None
    if not (cert_file and key_file):
        raise ConfigError(f"[{name}] cert_file/key_file: app {name}: TLS "
                          "needs both cert_file and key_file")
    settings = service_tls.TlsSettings(
        cert_file=cert_file, key_file=key_file, ca_file=ca_file,
        minimum_version=_option(conf, "tls_minimum_version", name))
    service_tls.server_context(name, settings)
    return settings


def _refuse_shared_addresses(apps):
    seen = {}
    for app in apps:
        if app.port == 0 and not (app.unix_socket or app.systemd_socket):
            continue
        other = seen.setdefault(app.address, app.name)
        if other != app.name:
            if app.unix_socket:
                raise ConfigError(
                    f"[{app.name}] unix_socket: app {app.name}: "
                    f"{app.unix_socket} is already the socket of app {other}")
            raise ConfigError(
                f"[{app.name}] port: app {app.name}: {app.listen} port "
                f"{app.port} is already the address of app {other}")


def _paste_file(conf):
    return _path(conf, "api_paste_config")


def _path(conf, name, group=None):
    """A path option, relative paths resolved against the config file that set it."""
    path = _option(conf, name, group)
    if not os.path.isabs(path):
        path = os.path.join(_config_dir(conf, name, group), path)
    return os.path.abspath(path)


def _config_dir(conf, name, group):
    """The directory relative paths start from: the file that set the option, else the last file."""
    location = conf.get_location(name, group)
    if location is not None and location.location == cfg.Locations.user:
        return os.path.dirname(os.path.abspath(location.detail))
    if conf.config_file:
        return os.path.dirname(os.path.abspath(conf.config_file[-1]))
    return os.getcwd()
