"""service/http is the HTTP core without I/O: a worker on native threads could drive it unchanged.

Its modules import the standard library's pure parts and each other (and
service.memo), never sockets, selectors, threads, eventlet or the worker.
"""

import ast
import os

import service.http

HTTP = os.path.dirname(service.http.__file__)
ALLOWED = {"dataclasses", "http", "io", "re", "struct", "sys", "urllib", "wsgiref", "service"}
ALLOWED_SERVICE = ("service.http", "service.memo")


def _imports(path):
    with open(path) as f:
        tree = ast.parse(f.read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def test_the_http_core_does_no_io_and_knows_no_runtime():
    for name in sorted(os.listdir(HTTP)):
        if not name.endswith(".py"):
            continue
        for module in _imports(os.path.join(HTTP, name)):
            assert module.split(".")[0] in ALLOWED, (name, module)
            if module.startswith("service"):
                assert module.startswith(ALLOWED_SERVICE), (name, module)
