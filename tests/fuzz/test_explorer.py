"""The explorer's server never trusts a value from the browser: any control value either gives a
state of plain, in-range numbers whose closed form is finite, or one line naming the control
(docs/contract.md, "Sizes"; the page itself: tests/explore/test_server_checks.py)."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzz.contract import holds, reals, sizes

compute = pytest.importorskip("sigprop.explore.compute")


@settings(max_examples=80)
@given(m=reals(), v=reals(), d=sizes(ordinary=(1, 2, 8, 1024, 1025)), T=sizes(ordinary=(2, 16, 4096, 4097)),
       data=st.sampled_from(["random-walk", "iid", "ar1", "fbm", "bogus", 3, None]),
       parameter=st.one_of(st.none(), reals()))
def test_any_control_value_is_a_checked_state_or_one_line(m, v, d, T, data, parameter):
    def run():
        state = compute.State(m=m, v=v, d=d, T=T, data=data, parameter=parameter)
        assert isinstance(state.d, int) and 1 <= state.d <= compute.MAX_D
        assert isinstance(state.T, int) and 2 <= state.T <= compute.MAX_T
        assert abs(state.m) <= compute.MAX_M and 0 <= state.v <= compute.MAX_V
        if state.d > 64 or state.T > 512:         # in range, but the closed form is not the point here
            return {}
        return compute.gaussian(state)["rho"]
    holds(run, probabilities=())


@settings(max_examples=30)
@given(samples=sizes(ordinary=(3, 1000, 64000, 64001)))
def test_any_sample_count_is_checked_before_the_work(samples):
    def run():
        whole = isinstance(samples, (int, float)) and not isinstance(samples, bool) and float(samples).is_integer()
        if not (whole and 3 <= samples <= 64000):      # 3.0 is a count, as everywhere in the API
            compute.monte_carlo(compute.State(d=2, T=4), samples=samples)
            raise AssertionError(f"samples={samples!r} accepted")
        return {}
    holds(run)
