"""--check-config: what a start checks, then a table of what would be served; nothing is left.

This runs where the supervisor runs, and keeps its rule: no application code
and no eventlet in this process. Each app is built in a throwaway child,
exactly as a worker builds it, and the child reports back over a pipe. Every
address is bound and closed again. The errors are the ConfigErrors a start
raises, so the one line an operator reads is the same in both.
"""

import configparser
import dataclasses
import logging
import os
import select
import signal
import sys
import time

from service import paste_ini
from service.errors import ConfigError
from service.supervisor import admin
from service.supervisor import fleet
from service.supervisor import sockets

LOG = logging.getLogger(__name__)

EXIT_OK = 0

# Options naming a section's factory; a section has one of them.
_FACTORY_OPTIONS = ("use", "paste.app_factory", "paste.composite_factory",
                    "paste.filter_factory", "paste.filter_app_factory",
                    "paste.app", "paste.filter")
# No section can be called this, so the ini's [DEFAULT] is read as any other
# section instead of leaking its options into every section.
_NO_DEFAULT_SECTION = "\0"


def run(plan, timeout):
    """Do what a start of `plan` checks; print the table and return 0, or raise ConfigError.

    Each app gets `timeout` seconds to build.
    """
    held = _check_addresses(plan)
    _check_admin_address(plan)
    _build_apps(plan, timeout)
    sys.stdout.write(format_table(plan, read_paste_sections(plan.paste_file)))
    for warning in plan.warnings:
        sys.stdout.write(f"\nWarning: {warning}")
    for app, pid in held:
        sys.stdout.write(f"\nApp {app.name}: its address is held by the running "
                         f"service-api (pid {pid}); a reload of it keeps it.")
    sys.stdout.write(f"\nConfiguration OK: {len(plan.apps)} app(s) built, "
                     "every address can be bound.\n")
    sys.stdout.flush()
    return EXIT_OK


# Addresses.

def _check_addresses(plan):
    """Bind and close every address; return [(app, pid)] of those a running service-api holds.

    Checking before a reload is the common case, and there the running
    daemon's own sockets are in use by design, not an error.
    """
    held = []
    for app in plan.apps:
        if app.systemd_socket:
            continue  # systemd binds it
        try:
            sockets.close_all([sockets.bind(app, plan.sockets)])
        except ConfigError:
            pid = (sockets.service_api_listening_on_unix(app.unix_socket) if app.unix_socket
                   else sockets.service_api_listening_on(app.port))
            if pid is None:
                raise
            held.append((app, pid))
    return held


def _check_admin_address(plan):
    """Bind and close the admin endpoint's address, as a start would; the running daemon's own is no error."""
    if plan.metrics is None:
        return
    try:
        admin.bind(plan.metrics).close()
    except ConfigError:
        if sockets.service_api_listening_on(plan.metrics.port) is None:
            raise


# Building every app, each in a child of its own.

@dataclasses.dataclass
class _Builder:
    app: str
    pid: int          # None once waited for
    report_fd: int


def _build_apps(plan, timeout):
    """Build all apps at once, within `timeout` seconds; then raise the first failure."""
    builders = [_start_builder(plan, app.name) for app in plan.apps]
    deadline = time.monotonic() + timeout
    try:
        failures = [_wait_for(builder, plan.paste_file, deadline, timeout)
                    for builder in builders]
    finally:
        for builder in builders:
            _end(builder)  # interrupted: none may go on building
    for failure in failures:
        if failure:
            raise ConfigError(failure)


def _start_builder(plan, name):
    report_r, report_w = os.pipe()
    # What sits in our buffers must not be written twice, once by the child.
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        os.close(report_r)
        _build_in_child(plan, name, report_w)
    os.close(report_w)
    return _Builder(app=name, pid=pid, report_fd=report_r)


def _build_in_child(plan, name, report_fd):
    """The child's whole life: build like a worker, write the failure (or nothing), exit."""
    status = 1
    # Ctrl-C on a check ends its builders quietly; the parent says why.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        # Imported here, in the child: the worker side (eventlet) stays out
        # of the process that checks.
        from service.worker import loader
        from service.worker import process
        process.name_the_app_in_logs(name)
        process.build(plan, name)
        status = 0
    except loader.AppBuildError as exc:
        LOG.debug("Building app %s failed", name, exc_info=True)
        os.write(report_fd, " ".join(str(exc).split()).encode("utf-8"))
    except BaseException:
        # Not the app's fault (eventlet cannot be imported, say): the parent
        # reports the exit status, the log keeps the cause.
        LOG.exception("Building app %s crashed", name)
    finally:
        plan.sources.remove_copies()
        logging.shutdown()
        os._exit(status)


def _wait_for(builder, paste_file, deadline, timeout):
    """The failure the child reported or died of, or None when the app was built."""
    report = _read_report(builder.report_fd, deadline)
    if report is None:
        return (f"app {builder.app}: building it from {paste_file} did not "
                f"finish within {timeout:g} s (--check-config-timeout): a "
                "factory waiting for a database or service it cannot reach?")
    _, status = os.waitpid(builder.pid, 0)
    builder.pid = None
    if report or status == 0:
        return report or None
    return (f"app {builder.app}: building it from {paste_file} failed: "
            f"the process building it {fleet.describe_exit(status)}")


def _read_report(fd, deadline):
    """Everything the child writes to `fd` until it closes it; None if the deadline comes first."""
    data = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return None
        chunk = os.read(fd, 4096)
        if not chunk:
            return data.decode("utf-8", "replace")
        data += chunk


def _end(builder):
    os.close(builder.report_fd)
    if builder.pid is not None:
        try:
            os.kill(builder.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(builder.pid, 0)


# What each paste section is, read from the ini as text.

def read_paste_sections(path):
    """{name: (kind, options)} of every servable section; keys keep their case (paths)."""
    parser = configparser.RawConfigParser(
        strict=False, default_section=_NO_DEFAULT_SECTION)
    parser.optionxform = str
    with open(path, encoding="utf-8") as ini:
        parser.read_file(ini)
    sections = {}
    for section in parser.sections():
        kind, _, name = (part.strip() for part in section.partition(":"))
        if kind in paste_ini.SERVABLE_KINDS:
            sections[name or "main"] = (kind, dict(parser.items(section)))
    return sections


def describe(sections, name):
    """What section `name` is, in one line.

    'app: factory', 'pipeline: f1 -> f2 -> app', 'filter-app: filter -> next'
    or 'composite: factory'. A name the ini does not define
    (config:other.ini#x, egg:...) is shown as it is.
    """
    if name not in sections:
        return name
    kind, options = sections[name]
    if kind == "pipeline":
        return "pipeline: " + " -> ".join(options.get("pipeline", "").split())
    line = f"{'app' if kind == 'application' else kind}: {_factory(options)}"
    if "module" in options and _factory(options).endswith("wsgi_module:app_factory"):
        line = f"app: module {options['module'].strip()}"
    if kind == "filter-app":
        line += f" -> {options.get('next', '?')}"
    if "filter-with" in options:
        line += f", filtered by {options['filter-with']}"
    return line


def mounts(sections, name):
    """[(path, target)] of a composite: its options whose key is a path, as urlmap mounts them."""
    kind, options = sections.get(name, (None, {}))
    if kind != "composite":
        return []
    return [(key, value.strip()) for key, value in options.items()
            if key.startswith("/")]


def _factory(options):
    for option in _FACTORY_OPTIONS:
        if option in options:
            return options[option].strip()
    return "?"


# The table.

def format_table(plan, sections):
    """One row per app: app, address, workers, paste section; composites then their mounts."""
    header = ("app", "address", "workers", "paste section")
    rows = [(app.name, _address(app), str(app.workers),
             describe(sections, app.name)) for app in plan.apps]
    widths = [max(len(row[column]) for row in [header] + rows)
              for column in range(3)]
    indent = " " * (sum(widths) + len("  ") * 3)
    lines = [_row(header, widths)]
    for app, row in zip(plan.apps, rows):
        lines.append(_row(row, widths))
        lines += _mount_lines(sections, app.name, indent)
    return "\n".join(lines) + "\n"


def _mount_lines(sections, name, indent):
    paths = mounts(sections, name)
    width = max((len(path) for path, _ in paths), default=0)
    return [f"{indent}  {path.ljust(width)} -> {_mounted(sections, target)}"
            for path, target in paths]


def _mounted(sections, target):
    if target not in sections:
        return target
    return f"{target} ({describe(sections, target)})"


def _row(cells, widths):
    padded = [cell.ljust(width) for cell, width in zip(cells, widths)]
    return "  ".join(padded + [cells[-1]]).rstrip()


def _address(app):
    scheme = "https" if app.tls else app.protocol
    if app.systemd_socket:
        return f"{scheme} on the socket systemd passes"
    if app.unix_socket:
        return f"{scheme}+unix:{app.unix_socket}"
    host = f"[{app.listen}]" if ":" in app.listen else app.listen
    return f"{scheme}://{host}:{app.port}"
