"""service.memo: remembered values are the values made afresh, made no more often than they change."""

import random
import time

import pytest

from service import memo


class _Counted:
    """A make() that counts its calls."""

    def __init__(self, make):
        self._make = make
        self.calls = 0

    def __call__(self, *args):
        self.calls += 1
        return self._make(*args)


def test_bounded_memo_gives_what_make_gives_and_makes_each_key_once():
    make = _Counted(str.capitalize)
    capitalized = memo.BoundedMemo(make, max_entries=10)
    keys = ["content-type", "x-a", "content-type", "etag", "x-a"] * 3
    assert [capitalized(key) for key in keys] == [key.capitalize() for key in keys]
    assert make.calls == 3


def test_bounded_memo_remembers_no_more_than_its_bound():
    make = _Counted(str.upper)
    upper = memo.BoundedMemo(make, max_entries=2)
    for key in ["a", "b", "a", "b"]:
        assert upper(key) == key.upper()
    assert make.calls == 2
    # Past the bound: still the right value, made at each call.
    for calls in range(3, 6):
        assert upper("c") == "C"
        assert make.calls == calls
    assert upper("a") == "A" and make.calls == 5


def test_bounded_memo_does_not_remember_a_failure():
    outcomes = iter([ValueError("first"), "second"])

    def make(key):
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome
    remembered = memo.BoundedMemo(make, max_entries=10)
    with pytest.raises(ValueError):
        remembered("key")
    assert remembered("key") == "second"
    assert remembered("key") == "second"


def _moments():
    """Moments in order, many within one second, some a second or more apart, whole ones too."""
    rng = random.Random(3)
    moment = 1_700_000_000.0
    moments = []
    for _ in range(2000):
        moment += rng.choice([0.0, 0.0001, 0.3, 0.9999, 1.0, 2.5, 86400.0])
        moments.append(moment)
    return moments


def _second_text(moment):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(moment))


def test_once_per_interval_gives_what_make_gives():
    make = _Counted(_second_text)
    per_second = memo.OncePerInterval(make)
    moments = _moments()
    assert [per_second(m) for m in moments] == [_second_text(m) for m in moments]
    # Made once for each second the moments went through, no more.
    assert make.calls == len({int(m) for m in moments})


def test_once_per_interval_follows_its_interval():
    # Moments in microseconds, made once a millisecond.
    make = _Counted(lambda micros: f"{micros // 1000} ms")
    per_millisecond = memo.OncePerInterval(
        make, interval=lambda micros: micros // 1000)
    moments = [1000, 1200, 1999, 2000, 2001, 2500, 7000, 7000]
    assert [per_millisecond(m) for m in moments] == [f"{m // 1000} ms" for m in moments]
    assert make.calls == 3


def test_once_per_interval_makes_again_when_a_setting_changes():
    def make(moment, time_format, converter):
        return time.strftime(time_format, converter(moment))
    counted = _Counted(make)
    per_second = memo.OncePerInterval(counted)
    calls = [(1_700_000_000.25, "%H:%M:%S", time.gmtime),
             (1_700_000_000.75, "%H:%M:%S", time.gmtime),      # the same
             (1_700_000_000.75, "%H:%M", time.gmtime),         # a new format
             (1_700_000_000.75, "%H:%M", time.localtime),      # a new converter
             (1_700_000_000.80, "%H:%M", time.localtime),      # the same
             (1_700_000_000.80, "%H:%M:%S", time.gmtime)]      # back again
    assert [per_second(*call) for call in calls] == [make(*call) for call in calls]
    assert counted.calls == 4


def test_once_per_interval_does_not_remember_a_failure():
    failing = [True]

    def make(moment):
        if failing[0]:
            raise OSError("no clock")
        return int(moment)
    per_second = memo.OncePerInterval(make)
    with pytest.raises(OSError):
        per_second(5.5)
    failing[0] = False
    assert per_second(5.6) == 5


def test_per_second_of_now_is_make_of_the_time_now(monkeypatch):
    make = _Counted(_second_text)
    now = memo.per_second_of_now(make)
    moments = _moments()
    for moment in moments:
        monkeypatch.setattr(time, "time", lambda: moment)
        assert now() == _second_text(moment)
    assert make.calls == len({int(m) for m in moments})
