"""sigprop.core.checks: messages of refused values."""
import warnings

import numpy as np
import pytest

from sigprop.core import checks


@pytest.mark.parametrize("value, shown", [
    ([0.1, np.nan], "v must be finite, got array of 2 entries with 1 NaN (finite entries: min 0.1 and max 0.1)"),
    ([np.nan, np.nan], "v must be finite, got array of 2 entries with 2 NaN (no finite entry)"),
    ([0.1, np.inf, -np.inf, 0.3], "v must be finite, got array of 4 entries with 1 inf, 1 -inf (finite entries: "
                                  "min 0.1 and max 0.3)"),
    ([0.1, -1.0], "v must be >= 0, got array with min -1.0 and max 0.1"),
    (np.nan, "v must be finite, got nan"),
])
def test_a_refused_array_shows_its_nan_and_inf(value, shown):
    """Before, ``[0.1, nan]`` was shown as ``array with min 0.1 and max 0.1``, hiding the NaN (and an all-NaN
    array warned 'All-NaN slice encountered', a refusal of its own on the command line)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(checks.ArgumentError) as err:
            checks.real("v", np.array(value), minimum=0)
    assert str(err.value) == shown


def test_theory_spectrum_names_the_nan():
    from sigprop.rho.theory import theory_spectrum

    with pytest.raises(ValueError, match=r"^v must be finite, got array of 2 entries with 1 NaN"):
        theory_spectrum(0.5, np.array([0.1, np.nan]), 64, 128)
