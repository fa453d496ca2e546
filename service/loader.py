"""Paste loading, with errors that name the app, the file and the cause.

check_paste_file() reads the ini as text and runs in the supervisor: it
never imports application code. load_app() builds the app and runs only in a
worker, after the fork.
"""

import configparser
import os

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
            parser.read_file(ini)
    except OSError as exc:
        raise ConfigError(f"[DEFAULT] api_paste_config: cannot read paste "
                          f"file {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"[DEFAULT] api_paste_config: paste file {path} "
                          f"is not UTF-8 text: byte {exc.start}") from None
    except configparser.Error as exc:
        first_line = str(exc).splitlines()[0]
        raise ConfigError(f"[DEFAULT] api_paste_config: paste file {path} "
                          f"is not a valid ini: {first_line}") from None
    servable = {_section_name(section) for section in parser.sections()}
    for name in names:
        if name not in servable:
            raise ConfigError(
                f"app {name}: paste file {path} has no [app:{name}], "
                f"[composite:{name}], [pipeline:{name}] or "
                f"[filter-app:{name}] section")


def _section_name(section):
    prefix, _, name = section.partition(":")
    if prefix.strip() in SERVABLE_KINDS:
        return name.strip() or "main"
    return None


def load_app(path, name):
    """Build app `name` from the paste ini at `path`; raise AppBuildError on failure."""
    from paste.deploy import loadapp

    try:
        return loadapp("config:" + path, name=name,
                       relative_to=os.path.dirname(path))
    except Exception as exc:
        cause = " ".join(str(exc).split()) or "(no message)"
        raise AppBuildError(f"app {name}: building it from {path} failed: "
                            f"{type(exc).__name__}: {cause}") from exc
