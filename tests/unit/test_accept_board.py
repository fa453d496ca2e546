"""service.accept_board: when a worker is ahead of its siblings, and the board they share."""

import os

import pytest

from service import accept_board

NOT = accept_board.NOT_ACCEPTING


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
    assert accept_board.is_ahead(mine, others) is ahead


@pytest.mark.parametrize("mine, others, sheds", [
    (5, [], False),                 # a lone worker keeps what it has
    (5, [NOT], False),              # a sibling not accepting cannot take it
    (5, [4], False),                # moving one would only swap the counts
    (6, [4], True),
    (6, [4, 9], True),              # the least busy sibling decides
    (90, [88], True),               # no slack: clients' shares, not accept races
])
def test_over_share(mine, others, sheds):
    assert accept_board.over_share(mine, others) is sheds


def test_board_slots_start_empty_and_are_shared_with_forked_workers():
    board = accept_board.AcceptBoard(3)
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
