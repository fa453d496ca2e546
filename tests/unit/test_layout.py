"""The layout keeps the fork's sides apart: nothing the supervisor runs imports the worker side or eventlet.

service/supervisor/ and the modules both sides share may import each other
and service.conf, never service.worker (nor service.http or
service.accesslog.lines, which only workers use) and never eventlet or
greenlet, directly or through another module of ours. The worker's code is
loaded in a child after the fork (service.cmd.api's _become_worker).
"""

import ast
import os
import subprocess
import sys

import service

PACKAGE = os.path.dirname(service.__file__)
# service.cmd.api joins both sides: it hands the supervisor a function that
# imports the worker's life in the child, which the last test checks.
SUPERVISOR_SIDE = ["service.supervisor"]
WORKER_ONLY = ("service.worker.", "service.http", "service.accesslog.lines",
               "service.accesslog.direct", "service.wsgi_module")
GREEN = ("eventlet", "greenlet")


def _module_path(name):
    path = os.path.join(os.path.dirname(PACKAGE), *name.split("."))
    return path + ".py" if os.path.isfile(path + ".py") else os.path.join(path, "__init__.py")


def _modules_of(name):
    """`name` and, for a package, every module in it."""
    path = _module_path(name)
    if not path.endswith("__init__.py"):
        return [name]
    directory = os.path.dirname(path)
    return [name] + [f"{name}.{entry[:-3]}" for entry in sorted(os.listdir(directory))
                     if entry.endswith(".py") and entry != "__init__.py"]


def _imports(name):
    """Every module `name` imports at its top level or in a function, as absolute names."""
    with open(_module_path(name)) as f:
        tree = ast.parse(f.read())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append(node.module)
            found += [f"{node.module}.{alias.name}" for alias in node.names]
    return found


def _closure(roots):
    """{module: the module that imported it} of every service module reachable from `roots`, and outside ones."""
    seen = {}
    todo = [(module, "(root)") for root in roots for module in _modules_of(root)]
    while todo:
        module, importer = todo.pop()
        if module in seen:
            continue
        seen[module] = importer
        if module.startswith("service") and os.path.exists(_module_path(module)):
            todo += [(imported, module) for imported in _imports(module)]
    return seen


def test_the_supervisor_side_never_imports_the_worker_side_or_eventlet():
    reached = _closure(SUPERVISOR_SIDE)
    wrong = {module: importer for module, importer in reached.items()
             if module.startswith(WORKER_ONLY) or module == "service.worker"
             or module.split(".")[0] in GREEN}
    assert wrong == {}


def test_a_supervisor_process_loads_no_worker_code():
    script = ("import sys, service.cmd.api, service.supervisor.loop; "
              "print(sorted(m for m in sys.modules if m.startswith(('eventlet', "
              "'greenlet', 'service.worker.', 'service.http', 'paste.deploy'))))")
    result = subprocess.run([sys.executable, "-c", script], check=True,
                            capture_output=True, text=True)
    assert result.stdout.strip() == "[]"


# The threads model and what it shares with the eventlet model: a
# threads-model worker loads these, and nothing that loads eventlet.
THREADS_SIDE = ["service.worker.threads", "service.worker.process",
                "service.worker.app_server", "service.worker.model",
                "service.worker.connection", "service.worker.exchange",
                "service.worker.request_body", "service.worker.response",
                "service.worker.socket_reader", "service.worker.drain",
                "service.worker.accepting", "service.worker.accept_turns",
                "service.worker.client_sockets", "service.worker.loader",
                "service.worker.counting", "service.worker.global_conf",
                "service.worker.uwsgi_connection",
                "service.wsgi_module"]


def test_the_threads_model_never_imports_the_eventlet_side_or_eventlet():
    reached = _closure(THREADS_SIDE)
    wrong = {module: importer for module, importer in reached.items()
             if module.startswith("service.worker.green")
             or module.split(".")[0] in GREEN}
    assert wrong == {}


def test_the_shared_worker_modules_are_the_ones_this_test_lists():
    # A new shared module must join THREADS_SIDE (or the eventlet side's
    # folder), so that the test above looks at it.
    shared = {name for name in _modules_of("service.worker")
              if not name.startswith(("service.worker.green", "service.worker.threads"))
              and name != "service.worker"}
    assert shared <= set(THREADS_SIDE)


def test_a_threads_worker_process_loads_no_eventlet():
    script = ("import sys, service.cmd.api; from service.worker import model; "
              "m = model.load('threads'); m.prepare_process(); "
              "import service.worker.process, service.worker.app_server; "
              "print(sorted(m for m in sys.modules if m.startswith(('eventlet', "
              "'greenlet', 'service.worker.green'))))")
    result = subprocess.run([sys.executable, "-c", script], check=True,
                            capture_output=True, text=True)
    assert result.stdout.strip() == "[]"
