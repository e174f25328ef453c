"""The order state machine allows exactly the documented transitions."""

import itertools

import pytest

from workbench.broker.orders import TRANSITIONS, IllegalTransition, check_transition
from workbench.model import OrderStatus as S

ALLOWED = {
    (S.NEW, S.ACCEPTED), (S.NEW, S.REJECTED),
    (S.ACCEPTED, S.PARTIALLY_FILLED), (S.ACCEPTED, S.FILLED), (S.ACCEPTED, S.CANCELLED), (S.ACCEPTED, S.EXPIRED),
    (S.PARTIALLY_FILLED, S.PARTIALLY_FILLED), (S.PARTIALLY_FILLED, S.FILLED),
    (S.PARTIALLY_FILLED, S.CANCELLED), (S.PARTIALLY_FILLED, S.EXPIRED),
}


@pytest.mark.parametrize("old, new", list(itertools.product(S, S)))
def test_transition_table(old, new):
    if (old, new) in ALLOWED:
        check_transition(old, new, "O1")
    else:
        with pytest.raises(IllegalTransition, match=f"{old.value} -> {new.value}"):
            check_transition(old, new, "O1")


def test_terminal_states_have_no_way_out():
    assert {s for s, nxt in TRANSITIONS.items() if not nxt} == {s for s in S if s.is_terminal}
