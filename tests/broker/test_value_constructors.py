"""Event and Reply write their own __init__ (through the slots' setters, for speed): each
must build exactly what the dataclass-generated __init__ builds from the same arguments."""

import dataclasses
import inspect

import pytest

from workbench.broker.journal import Event
from workbench.broker.orders import RejectReason, Reply


def generated(cls):
    """The same fields in a dataclass with the generated __init__."""
    spec = [(f.name, f.type, f) for f in dataclasses.fields(cls)]
    return dataclasses.make_dataclass("Generated" + cls.__name__, spec, frozen=True, slots=True)


CASES = {
    Event: [((3, 10**18, "accepted", "O1", {"a": 1}), {}),
            ((), dict(seq=0, time_ns=0, kind="slice", order_id=None, payload={})),
            ((1, 2), dict(kind="fill", order_id="O9", payload={"quantity": 1.0}))],
    Reply: [((True, "O1", 5), {}),
            ((False, None, 7, RejectReason.KILL_SWITCH, "the kill switch is on"), {}),
            ((False,), dict(order_id="O2", seq=1, message="m")),
            ((), dict(accepted=True, order_id="O3", seq=2, reason=None))],
}


@pytest.mark.parametrize("cls", [Event, Reply])
def test_the_own_init_builds_what_the_generated_one_builds(cls):
    ref = generated(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    assert list(inspect.signature(cls).parameters) == names
    assert [p.default for p in inspect.signature(cls).parameters.values()] == \
        [p.default for p in inspect.signature(ref).parameters.values()]
    assert set(cls.__slots__) == set(names)
    for args, kwargs in CASES[cls]:
        mine, theirs = cls(*args, **kwargs), ref(*args, **kwargs)
        assert dataclasses.astuple(mine) == dataclasses.astuple(theirs)
        assert mine == cls(*args, **kwargs)
        if cls is Reply:
            assert hash(mine) == hash(theirs)
        assert repr(mine) == repr(theirs).replace("Generated", "")
        assert dataclasses.replace(mine) == mine
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(mine, names[0], None)
    for bad in [(), (1,) * (len(names) + 1)]:  # the same argument errors
        with pytest.raises(TypeError):
            cls(*bad)
    with pytest.raises(TypeError):
        cls(*CASES[cls][0][0], nonsense=1)
