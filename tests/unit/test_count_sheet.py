"""The count sheet: rows of methods and codes, bounded labels, what a reader sees."""

import os

from service import count_sheet
from service.count_sheet import CountSheet, SheetFigures


def test_rows_by_method_and_code_with_unknown_methods_as_other():
    sheet = CountSheet()
    for method, code in [("GET", 200), ("GET", 200), ("POST", 201), ("BREW", 418),
                         ("FROB", 418), ("GET", 404)]:
        sheet.cells[sheet.row(method, code)] += 1
    assert sheet.read().requests == {("GET", "200"): 2, ("POST", "201"): 1,
                                     ("other", "418"): 2, ("GET", "404"): 1}


def test_a_full_table_counts_further_pairs_in_one_other_row():
    sheet = CountSheet()
    for code in range(count_sheet.MAX_ROWS + 50):
        sheet.cells[sheet.row("GET", 1000 + code)] += 1
    requests = sheet.read().requests
    assert len(requests) == count_sheet.MAX_ROWS
    assert requests[("other", "other")] == 51
    assert sum(requests.values()) == count_sheet.MAX_ROWS + 50


def test_the_writer_remembers_no_invented_method():
    sheet = CountSheet()
    for n in range(1000):
        sheet.row(f"M{n}", 200)
    assert len(sheet.rows_by_pair) == 0 and len(sheet._rows) == 1


def test_another_process_reads_what_a_forked_writer_counted():
    sheet = CountSheet()
    pid = os.fork()
    if pid == 0:
        sheet.cells[sheet.row("PUT", 204)] += 5
        sheet.cells[count_sheet.RESPONSE_BYTES] += 123
        os._exit(0)
    os.waitpid(pid, 0)
    figures = sheet.read()
    assert figures.requests == {("PUT", "204"): 5}
    assert figures.response_bytes == 123


def test_adding_counters_leaves_gauges_alone():
    total = SheetFigures.zero()
    live = SheetFigures({("GET", "200"): 2}, [1] + [0] * len(count_sheet.DURATION_BOUNDS),
                        0.5, 10, 20, in_flight=3)
    total.add_counters(live)
    total.add_counters(live)
    assert total.requests == {("GET", "200"): 4}
    assert total.duration_buckets[0] == 2 and total.duration_sum == 1.0
    assert (total.request_bytes, total.response_bytes, total.in_flight) == (20, 40, 0)
