"""service.balance: when a worker lets its siblings accept first, and the board they share."""

import os

import pytest

from service import balance

NOT = balance.NOT_ACCEPTING


@pytest.mark.parametrize("mine, others, ahead", [
    (5, [], False),                 # a lone worker always accepts
    (5, [NOT, NOT], False),         # siblings building, draining or gone
    (2, [0], False),                # within the slack
    (3, [0], True),
    (3, [NOT, 0], True),            # only accepting siblings count
    (3, [1, 5], False),
    (4, [1, 5], True),              # the least busy sibling decides
    (90, [80], False),              # an eighth more is within the slack
    (91, [80], True),
])
def test_is_ahead(mine, others, ahead):
    assert balance.is_ahead(mine, others) is ahead


def test_board_slots_start_empty_and_are_shared_with_forked_workers():
    board = balance.AcceptBoard(3)
    first, second = board.seat(0), board.seat(1)
    assert list(first.siblings()) == [NOT, NOT]
    pid = os.fork()
    if pid == 0:
        second.post(7)
        os._exit(0)
    os.waitpid(pid, 0)
    first.post(2)
    assert list(first.siblings()) == [7, NOT]
    assert list(board.seat(2).siblings()) == [2, 7]
    board.vacate(1)
    second.leave()
    assert list(first.siblings()) == [NOT, NOT]


class FakeSeat:
    """A board whose siblings hold what `boards` says, one entry per look, then the last."""

    def __init__(self, boards):
        self.boards = list(boards)

    def siblings(self):
        return self.boards.pop(0) if len(self.boards) > 1 else self.boards[0]


class FakeTime:
    def __init__(self):
        self.now = 100.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += max(seconds, 0.0001)


def test_a_worker_not_ahead_accepts_at_once():
    time_ = FakeTime()
    balance.Turns(FakeSeat([[3]]), lambda: 4, time_.sleep, time_.clock).wait()
    assert time_.sleeps == []


def test_a_worker_ahead_waits_until_a_sibling_catches_up():
    time_ = FakeTime()
    seat = FakeSeat([[0], [0], [1], [2], [3]])
    balance.Turns(seat, lambda: 5, time_.sleep, time_.clock).wait()
    assert len(time_.sleeps) == 4
    assert set(time_.sleeps) == {0}  # quick looks first: yields


def test_a_worker_ahead_gives_up_on_siblings_that_take_nothing():
    time_ = FakeTime()
    turns = balance.Turns(FakeSeat([[0]]), lambda: 9, time_.sleep, time_.clock)
    started = time_.now
    turns.wait()
    waited = time_.now - started
    assert balance.IDLE_SIBLINGS_SECONDS <= waited < balance.IDLE_SIBLINGS_SECONDS + 0.01
    assert time_.sleeps[:balance.QUICK_LOOKS] == [0] * balance.QUICK_LOOKS
    assert set(time_.sleeps[balance.QUICK_LOOKS:]) == {balance.NAP_SECONDS}
    # ...and does not wait for them again for a while,
    time_.sleeps.clear()
    turns.wait()
    assert time_.sleeps == []
    # but does once that while is over.
    time_.now += balance.IGNORE_IDLE_SIBLINGS_SECONDS
    turns.wait()
    assert time_.sleeps


def test_a_sibling_that_keeps_accepting_is_waited_for():
    time_ = FakeTime()
    # The sibling takes a connection every 10 ms: slower than the idle
    # limit in all, but never idle that long in a row.
    boards = []
    for held in range(7):
        boards += [[held]] * 10
    seat = FakeSeat(boards)
    started = time_.now
    balance.Turns(seat, lambda: 8, time_.sleep, time_.clock).wait()
    assert {tuple(board) for board in seat.boards} == {(6,)}  # caught up: 8 is within the slack of 6
    assert time_.now - started > balance.IDLE_SIBLINGS_SECONDS


def test_siblings_that_only_come_and_go_are_not_progress():
    # The least busy sibling is stuck at 1; another one's clients come and
    # go (20, 21, 20, ...). Waiting on would never end.
    time_ = FakeTime()
    seat = FakeSeat([[1, 20 + look % 2] for look in range(100000)])
    started = time_.now
    balance.Turns(seat, lambda: 20, time_.sleep, time_.clock).wait()
    assert time_.now - started < balance.IDLE_SIBLINGS_SECONDS + 0.01


def test_one_wait_is_bounded_even_while_a_sibling_keeps_accepting():
    time_ = FakeTime()
    # It takes one more connection every 5 ms but never catches up.
    boards = [[held // 10] for held in range(100000)]
    started = time_.now
    balance.Turns(FakeSeat(boards), lambda: 10 ** 6, time_.sleep, time_.clock).wait()
    assert time_.now - started < balance.MOST_WAIT_SECONDS + 0.01
