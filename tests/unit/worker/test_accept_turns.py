"""service.worker.accept_turns: a worker ahead of its siblings lets them accept first, briefly."""

from service.worker import accept_turns


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
    accept_turns.Turns(FakeSeat([[3]]), lambda: 4, time_.sleep, time_.clock).wait()
    assert time_.sleeps == []


def test_a_worker_ahead_waits_until_a_sibling_catches_up():
    time_ = FakeTime()
    seat = FakeSeat([[0], [0], [1], [2], [3]])
    accept_turns.Turns(seat, lambda: 5, time_.sleep, time_.clock).wait()
    assert len(time_.sleeps) == 4
    assert set(time_.sleeps) == {0}  # quick looks first: yields


def test_a_worker_ahead_gives_up_on_siblings_that_take_nothing():
    time_ = FakeTime()
    turns = accept_turns.Turns(FakeSeat([[0]]), lambda: 9, time_.sleep, time_.clock)
    started = time_.now
    turns.wait()
    waited = time_.now - started
    assert accept_turns.IDLE_SIBLINGS_SECONDS <= waited < accept_turns.IDLE_SIBLINGS_SECONDS + 0.01
    assert time_.sleeps[:accept_turns.QUICK_LOOKS] == [0] * accept_turns.QUICK_LOOKS
    assert set(time_.sleeps[accept_turns.QUICK_LOOKS:]) == {accept_turns.NAP_SECONDS}
    # ...and does not wait for them again for a while,
    time_.sleeps.clear()
    turns.wait()
    assert time_.sleeps == []
    # but does once that while is over.
    time_.now += accept_turns.IGNORE_IDLE_SIBLINGS_SECONDS
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
    accept_turns.Turns(seat, lambda: 8, time_.sleep, time_.clock).wait()
    assert {tuple(board) for board in seat.boards} == {(6,)}  # caught up: 8 is within the slack of 6
    assert time_.now - started > accept_turns.IDLE_SIBLINGS_SECONDS


def test_siblings_that_only_come_and_go_are_not_progress():
    # The least busy sibling is stuck at 1; another one's clients come and
    # go (20, 21, 20, ...). Waiting on would never end.
    time_ = FakeTime()
    seat = FakeSeat([[1, 20 + look % 2] for look in range(100000)])
    started = time_.now
    accept_turns.Turns(seat, lambda: 20, time_.sleep, time_.clock).wait()
    assert time_.now - started < accept_turns.IDLE_SIBLINGS_SECONDS + 0.01


def test_one_wait_is_bounded_even_while_a_sibling_keeps_accepting():
    time_ = FakeTime()
    # It takes one more connection every 5 ms but never catches up.
    boards = [[held // 10] for held in range(100000)]
    started = time_.now
    accept_turns.Turns(FakeSeat(boards), lambda: 10 ** 6, time_.sleep, time_.clock).wait()
    assert time_.now - started < accept_turns.MOST_WAIT_SECONDS + 0.01


def test_ahead_is_one_look_at_the_board_and_false_while_siblings_are_ignored():
    time_ = FakeTime()
    turns = accept_turns.Turns(FakeSeat([[0]]), lambda: 9, time_.sleep, time_.clock)
    assert turns.ahead() and time_.sleeps == []
    turns.wait()  # the sibling takes nothing: ignored for a while
    assert not turns.ahead()
    time_.now += accept_turns.IGNORE_IDLE_SIBLINGS_SECONDS
    assert turns.ahead()
    assert not accept_turns.Turns(FakeSeat([[7]]), lambda: 9, time_.sleep, time_.clock).ahead()
