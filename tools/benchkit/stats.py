"""Percentiles and medians, with nan for no values."""

import statistics


def percentile(values, pct):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def median(values):
    return statistics.median(values) if values else float("nan")
