"""Helpers shared by the tests (imported, unlike fixtures in ``conftest``)."""
from scipy.special import ndtri


def bonferroni_z(family_alpha: float, comparisons: int) -> float:
    """Two-sided normal quantile so that ``comparisons`` tests together have
    probability at most ``family_alpha`` of any false alarm (union bound)."""
    return float(ndtri(1 - family_alpha / (2 * comparisons)))


def chi2_cdf_mp(weights, x, dps: int = 20):
    """``P(sum_k w_k chi2_1 <= x)`` by the Gil-Pelaez integral in mpmath at ``dps`` digits.

    ``F = 1/2 - (1/pi) int_0^inf Im(exp(-iux) phi(u)) / u du`` with
    ``phi(u) = prod_k (1 - 2 i w_k u)^{-1/2}``.  For ``x != 0`` the part beyond
    ``u = a = min(1/max|w|, 1/|x|)`` is moved onto the ray ``a + r exp(-+ i pi/4)`` (Cauchy:
    ``phi`` is analytic for ``Re u > 0``, its branch points lie on the imaginary axis), where
    ``exp(-iux)`` decays exponentially, so tanh-sinh quadrature converges fast; for ``x = 0``
    the integrand is not oscillatory.  Checked against ``mpmath.quadosc`` at 30-40 digits
    (agreement to 1e-22 or better at 20 digits, ``docs/exact.md``).  Independent of sigprop.
    """
    import mpmath as mp
    with mp.workdps(dps):
        lam = [mp.mpf(float(w)) for w in weights if w != 0]
        x = mp.mpf(float(x))
        if not lam:
            return float(x >= 0)

        def h(u):
            return mp.exp(-1j * u * x) * mp.fprod((1 - 2j * w * u) ** -0.5 for w in lam) / u

        if x == 0:
            pts = [0] + sorted({1 / abs(w) for w in lam}) + [mp.inf]
            integral = mp.quad(lambda u: mp.im(h(u)), pts)
        else:
            a = min(1 / max(abs(w) for w in lam), 1 / abs(x))
            e = mp.expjpi(-mp.mpf(1) / 4 if x > 0 else mp.mpf(1) / 4)
            integral = (mp.quad(lambda u: mp.im(h(u)), [0, a])
                        + mp.im(mp.quad(lambda r: h(a + r * e) * e, [0, 1 / abs(x), mp.inf])))
        return float(mp.mpf(1) / 2 - integral / mp.pi)
