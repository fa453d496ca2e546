"""Charts from one results file: req/s and p99 per scenario and server, with the run's date and machine in the title.

Each chart is small multiples, one panel per scenario, one horizontal bar
per server in the same colour in every panel; service-api's own servers
come first. Only matplotlib (in .bench/venv-charts), never the servers'
venvs; tools/bench_charts runs this there.
"""

import json
import math
from pathlib import Path

from .results import machine_label

# (file stem, row key, axis label, title)
FIGURES = (("rps", "rps", "requests per second (higher is better)",
            "Throughput"),
           ("p99", "p99_ms", "p99 latency, ms (lower is better)",
            "p99 latency"))
COLUMNS = 3
OURS_FIRST = ("service-api", "service-api-threads", "service-api-metrics")


def load(path):
    data = json.loads(Path(path).read_text())
    if data.get("schema") != 2:
        raise ValueError(f"{path}: results schema {data.get('schema')!r}; "
                         f"this tool reads schema 2 (tools/bench since the "
                         f"benchkit package)")
    return data


def panels(data, key):
    """[(scenario, title, [(server, value)])] for the scenarios with at least one figure."""
    found = []
    for scenario, result in data["comparisons"].items():
        bars = [(server, row.get(key)) for server, row in result["servers"].items()
                if _number(row.get(key))]
        if bars:
            found.append((scenario, result.get("title", ""), _ordered(bars)))
    return found


def _number(value):
    return isinstance(value, (int, float)) and not math.isnan(value)


def _ordered(bars):
    rank = {name: i for i, name in enumerate(OURS_FIRST)}
    return sorted(bars, key=lambda bar: rank.get(bar[0], len(rank)))


def title(data, what):
    run = data.get("run", {})
    date = run.get("date", "unknown date").replace("T", " ")
    options = run.get("options", data.get("options", {}))
    rounds = options.get("rounds")
    return (f"{what} per scenario and server: tools/bench run of {date}\n"
            f"{machine_label(run.get('machine', {}))}; medians of {rounds} "
            f"round{'s' if rounds != 1 else ''}, --duration "
            f"{options.get('duration')}")


def draw(data, out_dir, fmt="png"):
    """Write rps.<fmt> and p99.<fmt> under `out_dir`; returns their paths."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    colours = _colours(data, plt)
    written = []
    for stem, key, axis, what in FIGURES:
        found = panels(data, key)
        if not found:
            continue
        columns = min(COLUMNS, len(found))
        rows = math.ceil(len(found) / columns)
        figure, axes = plt.subplots(rows, columns, squeeze=False,
                                    figsize=(5.2 * columns, 3.4 * rows + 0.8))
        for ax, (scenario, subtitle, bars) in zip(axes.flat, found):
            _panel(ax, scenario, subtitle, bars, axis, colours)
        for ax in list(axes.flat)[len(found):]:
            ax.axis("off")
        figure.suptitle(title(data, what), fontsize=12)
        figure.tight_layout(rect=(0, 0, 1, 0.95))
        path = out_dir / f"{stem}.{fmt}"
        figure.savefig(path, format=fmt, dpi=110)
        plt.close(figure)
        written.append(path)
    return written


def _panel(ax, scenario, subtitle, bars, axis, colours):
    names = [name for name, _ in bars]
    values = [value for _, value in bars]
    positions = range(len(bars))
    ax.barh(positions, values, color=[colours[n] for n in names])
    ax.set_yticks(list(positions), labels=names, fontsize=8)
    ax.invert_yaxis()
    ax.set_title(f"{scenario}", fontsize=10, loc="left")
    ax.set_xlabel(axis, fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    top = max(values)
    for position, value in zip(positions, values):
        ax.text(value + top * 0.01, position, _label(value), va="center",
                fontsize=7)
    ax.set_xlim(0, top * 1.18)


def _label(value):
    return f"{value:.0f}" if value >= 100 else f"{value:.3g}"


def _colours(data, plt):
    servers = []
    for result in data["comparisons"].values():
        servers += [n for n in result["servers"] if n not in servers]
    palette = plt.get_cmap("tab20").colors
    ordered = [name for name, _ in _ordered([(n, 0) for n in servers])]
    return {name: palette[i % len(palette)] for i, name in enumerate(ordered)}
