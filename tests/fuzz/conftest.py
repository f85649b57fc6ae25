"""Fixtures shared by the hostile-case files."""
import pytest


@pytest.fixture
def never(monkeypatch):
    """``never(module, name)``: replace a work function by one that records its calls; the list of calls
    (a refusal before the work leaves it empty)."""
    calls = []

    def put(module, name):
        monkeypatch.setattr(module, name, lambda *a, **k: calls.append(name))
        return calls
    return put
