"""The loop performs every action the fleet can return."""

import typing

from service.supervisor import fleet
from service.supervisor import loop


def test_every_action_has_a_performer():
    assert set(loop.Supervisor._PERFORMERS) == set(typing.get_args(fleet.Action))
