"""service.memo: remembered values equal what their computation gives, within their bounds."""

import time

import pytest

from service import memo


def test_a_bounded_memo_gives_what_make_gives_and_remembers_up_to_its_bound():
    made = []

    def make(key):
        made.append(key)
        return key * 2

    remembered = memo.BoundedMemo(make, max_entries=2)
    assert [remembered(key) for key in (1, 2, 1, 2)] == [2, 4, 2, 4]
    assert made == [1, 2]
    assert [remembered(3), remembered(3)] == [6, 6]  # past the bound: made each time
    assert made == [1, 2, 3, 3]


def test_a_bounded_memo_never_remembers_an_error():
    calls = []

    def refuse(key):
        calls.append(key)
        raise ValueError(key)

    remembered = memo.BoundedMemo(refuse, max_entries=10)
    for _ in range(2):
        with pytest.raises(ValueError):
            remembered("bad")
    assert calls == ["bad", "bad"]


def test_once_per_interval_makes_again_only_when_the_interval_changes():
    made = []

    def make(moment):
        made.append(moment)
        return int(moment)

    per_second = memo.OncePerInterval(make)
    assert [per_second(t) for t in (10.0, 10.2, 10.9, 11.0, 11.5)] == [10, 10, 10, 11, 11]
    assert made == [10.0, 11.0]


def test_per_second_of_now_is_made_from_this_second():
    before = int(time.time())
    assert before <= memo.per_second_of_now(int)() <= int(time.time())
