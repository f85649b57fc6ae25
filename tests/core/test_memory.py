"""sigprop.core.memory: the refusal, and the argument named as its driver."""
import pytest

from sigprop.core import memory
from sigprop.core.checks import ArgumentError


def test_require_refuses_beyond_the_limit(monkeypatch):
    monkeypatch.setenv(memory.LIMIT_VARIABLE, "1000")
    memory.require(1000, "T", "x")
    with pytest.raises(ArgumentError, match="needs about 1 kB") as exc:
        memory.require(1001, "T", "x")
    assert exc.value.argument == "T"


def test_driver_is_the_argument_whose_reset_lowers_the_need_most():
    def need(batch, T):
        return batch * T * T
    assert memory.driver(need, dict(T=(32, 2), batch=(10**8, 1))) == "batch"
    assert memory.driver(need, dict(T=(10**5, 2), batch=(64, 1))) == "T"
