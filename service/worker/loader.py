"""Building an app from the paste ini, in a worker, with errors that name the app, the file and the cause."""

import os

from paste.deploy import loadwsgi

from service.worker import global_conf

class AppBuildError(Exception):
    """The app's factory could not be imported or raised; the message is one line."""


def load_app(path, name, config_files, shown_as=None):
    """Build app `name` from the paste ini at `path`; raise AppBuildError on failure.

    `shown_as` is the path errors name, when `path` holds a copy of it.

    As a launcher of the app's own would: its modules are imported (paste
    resolves every section the app's section names), then cfg.CONF is
    parsed from `config_files`, then the factories run (see
    service.worker.global_conf).
    """
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
