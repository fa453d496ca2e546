"""The tables of the measures beside the scenarios: first 200, idle CPU, spread, idle connections, start-up, profile."""

from .places import CONNECTIONS, NAME_WIDTH, WORKERS
from .stats import median


class MeasureTables:
    """Methods of the Report for the measures; each records its figures in self.data and prints a table."""

    def first_200(self, times):
        self.data["first200"] = {n: {"median_s": median(t), "tries_s": t}
                                 for n, t in times.items()}
        self.emit(f"\n== first200: exec of the server's command to the first "
                  f"200 from the app's port (hello, {WORKERS} workers)")
        self.emit(f"{'server':<{NAME_WIDTH}}{'median s':>9}   tries")
        for name, tries in times.items():
            self.emit(f"{name:<{NAME_WIDTH}}{median(tries):>9.2f}   "
                      + " ".join(f"{t:.2f}" for t in tries))

    def peer_idle_cpu(self, idle):
        self.data["idle_cpu_all"] = idle
        self.emit(f"\n== idle-cpu: CPU used while idle, over "
                  f"{next(iter(idle.values()))['seconds']} s (2 workers each)")
        self.emit(f"{'server':<{NAME_WIDTH}}{'main process':>14}{'workers':>12}")
        for name, used in idle.items():
            self.emit(f"{name:<{NAME_WIDTH}}{used['main_s'] * 1000:>11.0f} ms"
                      f"{used['workers_s'] * 1000:>9.0f} ms")

    def spread(self, spread):
        self.data["spread"] = spread
        self.emit(f"\n== spread: responses per worker under load (hello, "
                  f"{CONNECTIONS} connections, one {self.options.duration} s "
                  f"run each; wrk Lua counts the X-Pid header)")
        self.emit(f"{'server':<{NAME_WIDTH}}{'connections':<12}{'per worker':<22}"
                  f"{'busiest/least':>14}")
        for kind, servers in spread.items():
            for name, served in servers.items():
                counts = sorted(served.values(), reverse=True)
                self.emit(f"{name:<{NAME_WIDTH}}{kind:<12}"
                          f"{' / '.join(map(str, counts)) or '-':<22}"
                          f"{_imbalance(counts):>14}")

    def idle_connections(self, name, result):
        self.data.setdefault("idle10k", {})[name] = result
        limited = "" if result["opened"] >= result["wanted"] else (
            f" (RLIMIT_NOFILE hard limit {result['nofile']} allows only "
            f"{result['opened']})")
        extra = result["rss_after_kib"] - result["rss_before_kib"]
        per_conn = extra * 1024 / max(result["opened"], 1)
        self.emit(f"\n== idle10k: {name}, 1 worker, {result['opened']} "
                  f"idle keep-alive connections{limited}")
        self.emit(f"opened in {result['open_seconds']:.1f} s; still open after "
                  f"the probes: {result['still_open']}")
        self.emit(f"worker RSS: {result['rss_before_kib'] / 1024:.1f} MiB -> "
                  f"{result['rss_after_kib'] / 1024:.1f} MiB (+{extra / 1024:.1f}"
                  f" MiB, {per_conn / 1024:.1f} KiB per connection)")
        self.emit(f"{'':<30}{'before':>12}{'during':>12}")
        for label, key in (("new connection p50 ms", "p50_ms"),
                           ("new connection p99 ms", "p99_ms")):
            self.emit(f"{label:<30}{result['before'][key]:>12.2f}"
                      f"{result['during'][key]:>12.2f}")
        for label, key, fmt in (("wrk 50 conns req/s", "rps", ".0f"),
                                ("wrk 50 conns p99 ms", "p99_ms", ".2f"),
                                ("wrk errors", "errors", "d")):
            before, during = (_wrk_value(result[when]["wrk"], key)
                              for when in ("before", "during"))
            self.emit(f"{label:<30}{before:>12{fmt}}{during:>12{fmt}}")

    def startup(self, apps, runs):
        self.data["startup"] = runs
        ready = [r["ready_s"] for r in runs]
        self.emit(f"\n== startup: service-api, {len(apps)} apps x {WORKERS} "
                  f"workers, trivial apps ({len(runs)} tries)")
        self.emit(f"start to 'Serving: every worker': median "
                  f"{median(ready):.2f} s (min {min(ready):.2f}, max "
                  f"{max(ready):.2f}); of which to the first 'App' line "
                  f"(interpreter, imports, config): "
                  f"{median([r['config_s'] for r in runs]):.2f} s")
        self.emit(f"graceful stop when idle (SIGTERM to exit): median "
                  f"{median([r['stop_s'] for r in runs]):.2f} s")
        idle = runs[-1]["idle_cpu"]
        if idle:
            self.emit(f"idle CPU over {idle['seconds']} s: supervisor "
                      f"{idle['main_s'] * 1000:.0f} ms "
                      f"({idle['main_s'] / idle['seconds'] * 100:.2f} % of a "
                      f"core); {idle['workers']} workers together "
                      f"{idle['workers_s'] * 1000:.0f} ms")

    def profile(self, name, mode, summary, raw, svg):
        self.data.setdefault("profile", {}).setdefault(name, {})[mode] = summary
        self.emit(f"\n== profile: one {name} worker under wrk {mode} "
                  f"load (hello, 2 workers), py-spy, {summary['samples']} "
                  f"samples of active CPU")
        self.emit(f"raw stacks: {raw}")
        self.emit(f"flame graph of the other worker: {svg}")
        for title, key, top in (("where the time goes (by the innermost "
                                 "recognised frame)", "categories", 10),
                                ("self time, by function", "self", 15),
                                ("total time (function and its callees)",
                                 "total", 25),
                                ("self time, by file", "files", 12)):
            self.emit(f"-- {title}")
            for name, share in summary[key][:top]:
                self.emit(f"{share * 100:6.1f} %  {name}")


def _imbalance(counts):
    if len(counts) < WORKERS:
        return f"{len(counts)} of {WORKERS} served"
    return f"{counts[0] / max(counts[-1], 1):.2f}"


def _wrk_value(load, key):
    if key == "errors":
        return sum(load["socket_errors"].values()) + load["non_2xx"]
    return load[key]
