"""Paste loading, with errors that name the app, the file and the cause.

check_paste_file() reads the ini as text and runs in the supervisor: it
never imports application code. load_app() builds the app and runs only in a
worker, after the fork.
"""

import ast
import configparser
import os
import re

from service.errors import ConfigError

# Section kinds (the part before the colon) loadapp() can serve.
SERVABLE_KINDS = ("app", "application", "composite", "pipeline",
                  "filter-app")


class AppBuildError(Exception):
    """The app's factory could not be imported or raised; the message is one line."""


def check_paste_file(path, names):
    """Raise ConfigError unless `path` is a readable ini defining every name."""
    parser = configparser.RawConfigParser(strict=False)
    try:
        with open(path, encoding="utf-8") as ini:
            text = ini.read()
        _check_section_headers(text)
        parser.read_string(text, source=path)
    except OSError as exc:
        raise ConfigError(f"[DEFAULT] api_paste_config: cannot read paste "
                          f"file {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"[DEFAULT] api_paste_config: paste file {path} "
                          f"is not UTF-8 text: byte {exc.start}") from None
    except configparser.Error as exc:
        raise ConfigError(f"[DEFAULT] api_paste_config: paste file {path} "
                          f"is not a valid ini: {_where(exc)}") from None
    servable = {_section_name(section) for section in parser.sections()}
    for name in names:
        if name not in servable:
            raise ConfigError(
                f"app {name}: paste file {path} has no [app:{name}], "
                f"[composite:{name}], [pipeline:{name}] or "
                f"[filter-app:{name}] section")


# What configparser takes for a section header (it ignores what follows "]").
_SECTION_HEADER = re.compile(r"\[.+\]")


def _check_section_headers(text):
    """A line that opens a section must be a whole header.

    configparser reads `[app:home` (no closing bracket) inside a section as
    an option named "[app" whose value is "home", and the app would then be
    reported missing rather than misspelt.
    """
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("[") and not _SECTION_HEADER.match(line.strip()):
            raise _UnclosedHeader(number, line)


class _UnclosedHeader(configparser.Error):
    def __init__(self, lineno, line):
        super().__init__(f"line {lineno}: {line.strip()!r}: a section header "
                         "without its closing ]")


def _where(exc):
    """The line number and text of a parsing error, in one line."""
    if isinstance(exc, configparser.MissingSectionHeaderError):
        return f"line {exc.lineno}: {exc.line.strip()!r}: not in a section"
    errors = getattr(exc, "errors", None)
    if errors:
        # configparser keeps repr() of each line, its newline included.
        return "; ".join(f"line {number}: {ast.literal_eval(line).strip()!r}"
                         for number, line in errors)
    return " ".join(str(exc).split())


def _section_name(section):
    prefix, _, name = section.partition(":")
    if prefix.strip() in SERVABLE_KINDS:
        return name.strip() or "main"
    return None


def load_app(path, name, config_files, shown_as=None):
    """Build app `name` from the paste ini at `path`; raise AppBuildError on failure.

    `shown_as` is the path errors name, when `path` holds a copy of it.

    As a launcher of the app's own would: its modules are imported (paste
    resolves every section the app's section names), then cfg.CONF is
    parsed from `config_files`, then the factories run (see
    service.global_conf).
    """
    from paste.deploy import loadwsgi

    from service import global_conf

    try:
        context = loadwsgi.loadcontext(loadwsgi.APP, "config:" + path, name=name,
                                       relative_to=os.path.dirname(path))
        global_conf.parse(config_files)
        return context.create()
    except BaseException as exc:
        # SystemExit too: a factory that calls sys.exit() failed to build,
        # and says so in one line like any other.
        raise AppBuildError(f"app {name}: building it from {shown_as or path} "
                            f"failed: {_cause(exc)}") from exc


def _cause(exc):
    if isinstance(exc, SystemExit):
        return f"SystemExit({exc.code!r}): the factory called sys.exit()"
    cause = " ".join(str(exc).split()) or "(no message)"
    return f"{type(exc).__name__}: {cause}"
