"""The table printed at the end, one row per app, and the progress lines on stderr."""

import dataclasses
import re
import sys

# "ValueError: ...", "oslo_db.exception.DBNonExistentDatabase: ...": the line
# of a traceback that says what went wrong.
_EXCEPTION = re.compile(r"(?:[a-z_]+\.)*[A-Z]\w*(?:Error|Exception|Exit|Database|Table)\b: .*")


@dataclasses.dataclass
class Row:
    service: str
    app: str
    model: str = "-"            # the worker model it was served in
    recipes_own: bool = False   # whether that is the model its recipe chooses
    result: str = "ok"
    ready_seconds: float = None
    rss_mib: float = None


def print_table(rows):
    header = ("service", "app", "model", "result", "start to ready (s)", "worker RSS (MiB)")
    table = [header] + [
        (row.service, row.app, row.model + ("*" if row.recipes_own else ""), row.result,
         "-" if row.ready_seconds is None else f"{row.ready_seconds:.1f}",
         "-" if row.rss_mib is None else f"{row.rss_mib:.0f}")
        for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for number, line in enumerate(table):
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip())
        if number == 0:
            print("  ".join("-" * width for width in widths))
    print("* the worker model the recipe chooses")


def say(service, message):
    print(f"[{service}] {message}", file=sys.stderr, flush=True)


def shorten(text, limit=110):
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def last_line(text):
    lines = [line for line in text.splitlines() if line.strip()]
    return shorten(lines[-1]) if lines else "(no output)"


def reason(output):
    """What a failed command's output says went wrong: its last exception line, or its last line."""
    found = [match.group(0) for match in map(_EXCEPTION.search, output.splitlines()) if match]
    return shorten(found[-1]) if found else last_line(output)
