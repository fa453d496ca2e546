"""A paste app factory that serves a service's own WSGI entry, `module:attribute`, as uWSGI does.

Every OpenStack API ships a module for uWSGI (nova.wsgi.osapi_compute,
glance.wsgi.api, cinder.wsgi.api, ...) whose import does the service's
whole process set-up: it registers its options (command-line ones too),
parses its own config files, sets up its own logging and builds its paste
pipeline. Named in the paste ini, such a service is one app like any other:

    [app:osapi_compute]
    paste.app_factory = service.wsgi_module:app_factory
    module = nova.wsgi.osapi_compute:application
    argv = --config-file /etc/nova/nova.conf
    env = OS_NOVA_DISABLE_EVENTLET_PATCHING=false

`module` is what uWSGI's `module` option takes (the attribute defaults to
`application`); `argv` is what the service sees as sys.argv[1:] (uWSGI's
`pyargv`); `env` holds NAME=value pairs, set before the import (uWSGI's
`env`). Like uWSGI, service-api hands the service cfg.CONF unparsed; the
daemon's own files are parsed into it afterwards only if the service left
it unparsed (service.global_conf). Workers import the module after the
fork, so a reload (HUP) imports the service's code and config afresh.
"""

import importlib
import os
import shlex
import sys

from service import global_conf

DEFAULT_ATTRIBUTE = "application"


def app_factory(global_config, module, argv="", env="", **unknown):
    """paste.app_factory: the WSGI app at `module` ('package.module:attribute')."""
    if unknown:
        raise ValueError(f"unknown option(s) {', '.join(sorted(unknown))}: "
                         "service.wsgi_module takes module, argv and env")
    module_name, attribute = _split(module)
    _set_environment(env)
    # What uWSGI gives the service: its program name and pyargv.
    sys.argv[1:] = shlex.split(argv)
    global_conf.hand_over()
    app = getattr(importlib.import_module(module_name), attribute)
    global_conf.take_back()
    if not callable(app):
        raise TypeError(f"{module} is {type(app).__name__}, not a WSGI app")
    return app


def _split(module):
    module_name, _, attribute = module.strip().partition(":")
    if not module_name:
        raise ValueError(f"module = {module!r}: give package.module:attribute")
    return module_name, attribute or DEFAULT_ATTRIBUTE


def _set_environment(env):
    for assignment in shlex.split(env):
        name, equals, value = assignment.partition("=")
        if not name or not equals:
            raise ValueError(f"env: {assignment!r} is not NAME=value")
        os.environ[name] = value
