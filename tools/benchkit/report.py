"""The tables on stdout, printed as each part finishes; the same figures go to the results file (results.py)."""

import dataclasses

from . import results
from .installs import VENVS
from .lineup import PEERS
from .measure_tables import MeasureTables
from .peers import FLOOR
from .places import CONNECTIONS, NAME_WIDTH, RUN
from .ratios import (THREADS_REFERENCES, metrics_cost, ratio_line, ratios,
                     reference_peers, threads_ratios)
from .service_api import METRICS, SERVICE_API, THREADS


class Report(MeasureTables):
    def __init__(self, options):
        self.options = options
        self.data = results.new_results(options)

    def emit(self, text=""):
        print(text, flush=True)

    def servers(self, names):
        self.data["servers"] = {n: {"what": PEERS[n].what,
                                    "access_log": PEERS[n].access_log,
                                    "venv": str(VENVS[PEERS[n].venv].path),
                                    "packages": VENVS[PEERS[n].venv].packages}
                                for n in names}
        self.emit(f"{'server':<{NAME_WIDTH}}{'access log':<32}what")
        for name in names:
            self.emit(f"{name:<{NAME_WIDTH}}{PEERS[name].access_log:<32}"
                      f"{PEERS[name].what}")

    def comparison(self, comparison, loads, memory, failed=None, seconds=None,
                   servers=()):
        """One scenario's table; `failed`: {server: why it did not start}; `seconds`: of a round, when not --duration."""
        failed = failed or {}
        rows = {name: dict(results.row_of(runs), **memory[name])
                for name, runs in loads.items()}
        checks = {s.name: s.check for s in servers if s.check}
        self.data["comparisons"][comparison.name] = {
            "title": comparison.title, "servers": rows, "failed": failed,
            "checks": checks,
            "rounds": {n: [dataclasses.asdict(r) for r in runs]
                       for n, runs in loads.items()}}
        load = (f"wrk 1 thread, {CONNECTIONS} connections" if seconds is None
                else "the bench's own clients")
        self.emit(f"\n== {comparison.name}: {comparison.title}; {load}, "
                  f"{self.options.rounds} x {seconds or self.options.duration}"
                  f" s rounds")
        self._table(rows, loads)
        for name, why in failed.items():
            self.emit(f"{name:<{NAME_WIDTH}}did not start: {why}")
        for name, check in checks.items():
            self.emit(f"({name}: {check})")
        self._notes(comparison, rows, loads)
        self.emit(ratio_line(rows))

    def _table(self, rows, loads):
        self.emit(f"{'server':<{NAME_WIDTH}}{'req/s':>8}{'p50 ms':>9}"
                  f"{'p99 ms':>9}{'errors':>8}{'CPU s/1k':>9}{'RSS MiB':>8}"
                  f"{'PSS MiB':>8}   req/s per round (CPU used meanwhile by "
                  f"other processes)")
        for name, row in rows.items():
            rounds = " ".join(f"{r.rps:.0f} ({r.others_pct:.0f}%)"
                              for r in loads[name])
            self.emit(f"{name:<{NAME_WIDTH}}{row['rps']:>8.0f}"
                      f"{row['p50_ms']:>9.2f}{row['p99_ms']:>9.2f}"
                      f"{row['errors']:>8}{row['cpu_s_per_1k']:>9.3f}"
                      f"{_mib(row['rss_kib']):>8}{_mib(row['pss_kib']):>8}"
                      f"   {rounds}")

    def _notes(self, comparison, rows, loads):
        self.emit("(CPU s/1k: CPU-seconds of the server's whole process group "
                  "per 1,000 requests; RSS and PSS: mean per worker after the "
                  "load, smaps_rollup)")
        if FLOOR in rows:
            self.emit(f"({FLOOR}: not a peer; eventlet green threads sending "
                      f"constant bytes, no HTTP parsing, WSGI or log: what "
                      f"eventlet, the kernel and wrk allow here)")
        if comparison.close:
            self.emit("requests per server CPU-second: " + ", ".join(
                f"{name} {row['requests_per_cpu_s']:.0f}"
                for name, row in rows.items()))
        backend = [r.backend_pct for runs in loads.values() for r in runs
                   if r.backend_pct is not None]
        if backend:
            self.emit(f"the backend used at most {max(backend):.0f} % of a "
                      f"core in any round (it answers 20 ms after each "
                      f"request on one asyncio loop)")
        front = {n: r["front_cpu_s_per_1k"] for n, r in rows.items()
                 if "front_cpu_s_per_1k" in r}
        if front:
            self.emit("Apache's CPU s/1k in front of each (not in the row's): "
                      + ", ".join(f"{n} {v:.3f}" for n, v in front.items()))
        clients = {n: r["per_client"] for n, r in rows.items() if "per_client" in r}
        if clients:
            self._clients(rows, clients)
        kinds = _error_kinds(loads)
        if kinds:
            why = (f" (a wrk timeout is a request unanswered after "
                   f"{comparison.timeout_s} s)" if "timeout" in kinds else "")
            self.emit(f"errors by kind: {kinds}{why}")

    def _clients(self, rows, clients):
        self.emit("server CPU per request: " + ", ".join(
            f"{n} {r['cpu_s_per_1k']:.0f} ms" for n, r in rows.items()))
        self.emit(f"{'requests per client':<{NAME_WIDTH}}{'min':>6}{'median':>8}"
                  f"{'max':>6}{'conns':>7}   by the worker that held the "
                  f"client's connection most: clients, median requests")
        for name, got in clients.items():
            workers = "; ".join(
                f"{pid}: {len(counts)}, {_median(counts):.0f}"
                for pid, counts in sorted(got["per_worker"].items(),
                                          key=lambda item: -len(item[1])))
            self.emit(f"{name:<{NAME_WIDTH}}{_int(got['min']):>6}"
                      f"{_median(got['median']):>8.1f}{_int(got['max']):>6}"
                      f"   {workers or 'a new connection per request'}")

    def summary(self):
        comparisons = self.data["comparisons"]
        if not comparisons:
            return
        self._service_api_summary(comparisons)
        self._threads_summary(comparisons)
        self._metrics_summary(comparisons)

    def _service_api_summary(self, comparisons):
        self.emit("\n== summary: service-api's throughput, p99 and CPU per "
                  "request against peers of the same run (throughput above 1, "
                  "p99 and CPU below 1 favour service-api)")
        self.emit(f"{'scenario':<14}{'svc req/s':>10}  {'against':<17}"
                  f"{'its req/s':>10}{'req/s':>7}{'p99':>7}{'CPU/req':>8}")
        found = {}
        for name, result in comparisons.items():
            rows = result["servers"]
            found[name] = {}
            if SERVICE_API not in rows:
                continue
            # The scenario and service-api's figure only on its first line.
            lead = f"{name:<14}{rows[SERVICE_API]['rps']:>10.0f}"
            for label, peer in reference_peers(rows):
                ratio = ratios(rows[SERVICE_API], rows[peer])
                found[name][label] = dict(ratio, peer=peer)
                self.emit(f"{lead:<24}  {label:<17}{rows[peer]['rps']:>10.0f}"
                          f"{ratio['rps']:>7.2f}{ratio['p99']:>7.2f}"
                          f"{ratio['cpu_per_request']:>8.2f}")
                lead = ""
        self.data["ratios"] = found
        self.emit("(best peer: the fastest of all; best eventlet: the fastest "
                  "of gunicorn -k eventlet, oslo.service and bare eventlet)")

    def _threads_summary(self, comparisons):
        found = {name: threads_ratios(result["servers"])
                 for name, result in comparisons.items()}
        self.data["threads_ratios"] = found
        if not any(found.values()):
            return
        self.emit(f"\n== summary: the threads model ({THREADS}) against "
                  f"gunicorn gthread, uWSGI and the eventlet model (throughput "
                  f"above 1, p99 and CPU below 1 favour the threads model; "
                  f"RSS: MiB more per worker)")
        self.emit(f"{'scenario':<14}{'thr req/s':>10}  {'against':<17}"
                  f"{'its req/s':>10}{'req/s':>7}{'p99':>7}{'CPU/req':>8}"
                  f"{'RSS +MiB':>9}")
        labels = dict(THREADS_REFERENCES)
        for name, against in found.items():
            rows = comparisons[name]["servers"]
            lead = f"{name:<14}{rows[THREADS]['rps']:>10.0f}" if against else ""
            for peer, ratio in against.items():
                self.emit(f"{lead:<24}  {labels[peer]:<17}"
                          f"{rows[peer]['rps']:>10.0f}{ratio['rps']:>7.2f}"
                          f"{ratio['p99']:>7.2f}{ratio['cpu_per_request']:>8.2f}"
                          f"{ratio['rss_mib_diff']:>9.1f}")
                lead = ""

    def _metrics_summary(self, comparisons):
        found = {name: metrics_cost(result["servers"])
                 for name, result in comparisons.items()}
        found = {name: cost for name, cost in found.items() if cost}
        self.data["metrics_cost"] = found
        if not found:
            return
        self.emit(f"\n== summary: the cost of counting, {METRICS} / "
                  f"{SERVICE_API} (metrics_port set against not), same run")
        self.emit(f"{'scenario':<14}{'plain req/s':>12}{'metrics req/s':>14}"
                  f"{'req/s':>7}{'p99':>7}{'CPU/req':>8}")
        for name, cost in found.items():
            rows = comparisons[name]["servers"]
            self.emit(f"{name:<14}{rows[SERVICE_API]['rps']:>12.0f}"
                      f"{rows[METRICS]['rps']:>14.0f}{cost['rps']:>7.2f}"
                      f"{cost['p99']:>7.2f}{cost['cpu_per_request']:>8.2f}")
        self.emit("(issue 22's target: req/s at least 0.95 in hello and "
                  "hello-close)")

    def save(self):
        path = results.save(self.data)
        self.emit(f"\nresults: {path}; logs: {RUN}")


def _mib(kib):
    return "-" if kib is None else f"{kib / 1024:.1f}"


def _int(value):
    return "-" if value is None else f"{value}"


def _median(values):
    if isinstance(values, list):
        values = results.median(values)
    return float("nan") if values is None else values


def _error_kinds(loads):
    parts = []
    for name, runs in loads.items():
        kinds = {"non-2xx": sum(r.non_2xx for r in runs)}
        for run in runs:
            for kind, count in run.socket_errors.items():
                kinds[kind] = kinds.get(kind, 0) + count
        shown = ", ".join(f"{kind} {n}" for kind, n in kinds.items() if n)
        if shown:
            parts.append(f"{name}: {shown}")
    return "; ".join(parts)
