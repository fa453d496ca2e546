"""The command line, and one service from its recipe's first command to its stop."""

import argparse
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile

from interop_support import behind_apache
from interop_support import daemon
from interop_support import memory
from interop_support import recipes
from interop_support import report
from interop_support import swift
from interop_support.client import CheckFailed
from interop_support.services import SERVICES


WORKER_MODELS = ("eventlet", "threads")


def main(repo, description):
    args = _parse_args(repo, description)
    rows = []
    for service in SERVICES:
        if service.name in args.only:
            for model in args.models:
                _run_service(service, model, args, repo, rows)
    report.print_table(rows)
    return 0 if rows and all(row.result == "ok" for row in rows) else 1


def _run_service(service, model, args, repo, rows):
    """Serve `service` by its recipe, every app in worker model `model`; its rows go to `rows`."""
    root = tempfile.mkdtemp(prefix=f"interop-{service.name}-{model}-")
    run = None
    served = []
    try:
        recipe = recipes.read(os.path.join(repo, "etc", "recipes"), service.name)
        run = _prepare_run(service, recipe, root, args.cache, repo, model)
        with (swift.memcached(run.relocation.ports[recipes.MEMCACHED_PORT])
              if service.needs_memcached else contextlib.nullcontext()):
            _follow_recipe(run, recipe, served)
    except (CheckFailed, recipes.RecipeError) as exc:
        _fail(service, model, served, str(exc))
    except subprocess.TimeoutExpired as exc:
        _fail(service, rows, f"`{report.shorten(str(exc.cmd), 70)}` still running "
                             f"after {exc.timeout:.0f} s")
    finally:
        if run:
            daemon.end(run.process)
        _leave(root, args.keep, service, served)
        _mark_models(served, model, os.path.join(repo, "etc", "recipes", service.name,
                                                 "svc.conf"))
        rows.extend(served)


def _in_model(service, model, name, text):
    """A recipe file's text as it serves in `model`: every app set to it, and what the service's page says that needs."""
    if name == "svc.conf":
        text = recipes.with_worker_model(text, model)
    for file_name, old, new in service.in_other_model.get(model, ()):
        if file_name == name:
            text = text.replace(old, new)
    return text


def _mark_models(rows, model, recipe_svc_conf):
    recipes_own = recipes.app_models(recipe_svc_conf)
    for row in rows:
        row.model = model
        row.recipes_own = recipes_own.get(row.app) == model


def _prepare_run(service, recipe, root, cache, repo, model):
    """The run's paths and ports, and the recipe's files copied with them, every app in `model`."""
    relocation = recipes.Relocation(
        recipe, root=root, venv=os.path.join(cache, service.name),
        copy=os.path.join(root, "recipe"),
        ports={port: _free_port() for port in recipe.ports()})
    relocation.write_copy(lambda name, text: _in_model(service, model, name, text))
    env = _service_env()
    if service.name == "swift":
        env.update(swift.swift_dir_env(root, relocation.path("/etc/swift")))
    return daemon.Run(service, relocation, repo, env,
                      log_path=os.path.join(root, "service-api.log"), model=model)


def _follow_recipe(run, recipe, rows):
    name = run.service.name
    report.say(name, f"install: {recipe.requirement} and service-api into "
                     f"{run.relocation.venv}")
    daemon.run_commands(run, recipe.sections["install"])
    report.say(name, "configure, prepare (directories, files, database, bootstrap)")
    daemon.run_commands(run, recipe.sections["configure"])
    run.ports = recipes.app_ports(run.path(recipe.svc_conf))
    rows.extend(report.Row(name, app) for app in run.ports)
    daemon.run_commands(run, recipe.sections["prepare"])
    report.say(name, "--check-config")
    daemon.run_commands(run, recipe.checks)
    report.say(name, f"starting service-api ({run.log_path})")
    daemon.start(run, recipe.daemon)
    rss = memory.worker_rss(run.process.pid)
    for row in _rows_of(name, rows):
        row.ready_seconds = run.ready_seconds
        row.rss_mib = rss.get(row.app)
    report.say(name, f"ready in {run.ready_seconds:.1f} s: checking")
    run.service.checks(run)
    if run.service.behind_apache:
        report.say(name, "behind Apache (devstack's ProxyPass, uwsgi on a Unix socket)")
        behind_apache.check_keystone(run, recipe)
    report.say(name, "SIGHUP under load")
    daemon.reload_under_load(run)
    daemon.stop(run)


def _service_env():
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("OS_", "NOTIFY_SOCKET", "PYTHON"))}


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rows_of(name, rows):
    return [row for row in rows if row.service == name]


def _fail(service, model, rows, reason):
    if not _rows_of(service.name, rows):
        rows.append(report.Row(service.name, "-"))
    for row in _rows_of(service.name, rows):
        row.result = f"FAILED: {report.shorten(reason)}"
    report.say(service.name, f"FAILED ({model}): {reason}")


def _leave(root, keep, service, rows):
    failed = any(r.result != "ok" for r in _rows_of(service.name, rows))
    if keep or failed:
        log = os.path.join(root, "service-api.log")
        if failed and os.path.exists(log):
            report.say(service.name, f"last lines of {log}:")
            with open(log, errors="replace") as f:
                sys.stderr.writelines("    " + line for line in f.readlines()[-15:])
        report.say(service.name, f"kept {root}" if keep else f"removing {root}")
    if not keep:
        shutil.rmtree(root, ignore_errors=True)


def _parse_args(repo, description):
    parser = argparse.ArgumentParser(description=description)
    names = [s.name for s in SERVICES]
    parser.add_argument("--only", default=",".join(names),
                        help=f"comma-separated services to run (of {', '.join(names)})")
    parser.add_argument("--keep", action="store_true",
                        help="leave each service's directory (config, logs, databases)")
    parser.add_argument("--cache", default=os.path.join(repo, ".interop"),
                        help="where the services' virtualenvs live (default: .interop/)")
    parser.add_argument("--models", default=",".join(WORKER_MODELS),
                        help="comma-separated worker models to serve each service in, "
                             f"every app of it (default: {','.join(WORKER_MODELS)})")
    args = parser.parse_args()
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(args.only) - set(names)
    if unknown:
        parser.error(f"unknown service(s): {', '.join(sorted(unknown))}")
    args.models = [model.strip() for model in args.models.split(",") if model.strip()]
    if not args.models or set(args.models) - set(WORKER_MODELS):
        parser.error(f"--models: choose among {', '.join(WORKER_MODELS)}")
    args.cache = os.path.abspath(args.cache)
    return args
