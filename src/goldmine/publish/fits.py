"""Converged maximum-likelihood fits and the asymptotic CLs of a signal hypothesis.

The test statistic and its distributions are pyhf's (q̃_μ, arXiv:1007.1727, as
``pyhf.infer.hypotest(test_stat="qtilde")``); only the fits differ: exact gradients from
:mod:`goldmine.publish.likelihood` and tight tolerances, so the minimiser stops at the
minimum, not where a finite-difference SLSQP at its default tolerance gives up. Every fit
runs with SLSQP and then with L-BFGS-B from SLSQP's minimum; each fit keeps the lower of the
two minima, and a CLs on which the two minimisers disagree is flagged, not trusted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pyhf.infer.calculators import AsymptoticTestStatDistribution
from scipy.optimize import brentq, minimize

from goldmine.publish.likelihood import Likelihood

__all__ = ["MINIMISERS", "CLsResult", "fit", "hypotest", "upper_limit"]

#: The minimiser and its cross-check, in the order they run (name → scipy method and options).
MINIMISERS = {
    "slsqp": ("SLSQP", {"ftol": 1e-12, "maxiter": 20_000}),
    "lbfgsb": ("L-BFGS-B", {"ftol": 1e-14, "gtol": 1e-8, "maxiter": 20_000, "maxfun": 50_000}),
}
#: Relative tolerance within which the two minimisers must agree on every CLs value.
AGREEMENT = 1e-4
#: Expected bands, in pyhf's order (+2σ … −2σ of the test statistic: CLs_exp[2] is the median).
_N_SIGMA = (2, 1, 0, -1, -2)
#: q_μ,A at or below this means the signal changes nothing expected: an expected significance
#: below 1e-3 σ (CLs_exp > 0.999), and the size of a cold-started fit's convergence error (RegionB
#: ``sbottom_1000_131_1``: q_μ,A = 6.7e-8, while fits from pyhf's initial values stop up to 6.7e-8
#: above the minimum), so CLs would be a ratio of two numbers near 1 set by the fits' tolerance.
_NO_SENSITIVITY = 1e-6


@dataclass(frozen=True)
class CLsResult:
    """CLs of one signal hypothesis μ.

    Attributes:
        cls_obs: observed CLs (``None`` when the test has no sensitivity).
        cls_exp: expected CLs band, pyhf's order (``None`` when no sensitivity).
        status: ``"ok"``, ``"ill_conditioned"`` (the two minimisers disagree by more than
            :data:`AGREEMENT`) or ``"no_sensitivity"`` (q_μ,A = 0: CLs is 0/0).
        qmu: observed q̃_μ.
        qmu_asimov: q̃_μ on the background-only Asimov data.
        spread: largest relative difference between the two minimisers' CLs values.
    """

    cls_obs: float | None
    cls_exp: list[float] | None
    status: str
    qmu: float
    qmu_asimov: float
    spread: float


def fit(likelihood: Likelihood, data: np.ndarray, minimiser: str, poi: float | None = None,
        start: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Minimise −2 log L over the free parameters (the POI fixed at ``poi`` unless ``None``).

    Args:
        likelihood: the compiled likelihood.
        data: main data followed by auxiliary data.
        minimiser: a key of :data:`MINIMISERS`.
        poi: value of the parameter of interest, or ``None`` for a free fit.
        start: all parameters to start from (default: the suggested initial values); fixed
            parameters keep their value from here.

    Returns:
        The best-fit parameters (all of them) and −2 log L there.
    """
    base = (likelihood.init if start is None else start).copy()
    free = ~likelihood.fixed
    if poi is not None:
        base[likelihood.poi_index] = poi
        free[likelihood.poi_index] = False
    method, options = MINIMISERS[minimiser]
    function = likelihood.objective(data, free, base)
    result = minimize(function, base[free], jac=True, method=method, bounds=likelihood.bounds[free], options=options)
    pars = base.copy()
    pars[free] = result.x
    return pars, float(result.fun)


def _cls(qmu: float, qmu_asimov: float) -> tuple[float, list[float]]:
    """pyhf's asymptotic CLs (observed, expected band) for q̃_μ from the two test-statistic values."""
    sqrt_q, sqrt_qa = np.sqrt(qmu), np.sqrt(qmu_asimov)
    teststat = sqrt_q - sqrt_qa if sqrt_q <= sqrt_qa else (qmu - qmu_asimov) / (2 * sqrt_qa)
    signal = AsymptoticTestStatDistribution(-sqrt_qa)
    background = AsymptoticTestStatDistribution(0.0)

    def cls(value):
        return float(signal.pvalue(value) / background.pvalue(value))

    return cls(teststat), [cls(background.expected_value(n)) for n in _N_SIGMA]


def _qmu(fixed: tuple[np.ndarray, float], free: tuple[np.ndarray, float], poi: float, poi_index: int) -> float:
    if free[0][poi_index] > poi:
        return 0.0
    return max(fixed[1] - free[1], 0.0)


def _cls_vector(qmu: float, qmu_asimov: float) -> np.ndarray:
    """Observed CLs and the expected band in one vector; NaN without sensitivity."""
    if qmu_asimov <= _NO_SENSITIVITY:
        return np.full(1 + len(_N_SIGMA), np.nan)
    observed, band = _cls(qmu, qmu_asimov)
    return np.array([observed, *band])


def _spread(a: np.ndarray, b: np.ndarray) -> float:
    """Largest relative difference of two CLs vectors; infinite where only one of them is defined."""
    with np.errstate(invalid="ignore", divide="ignore"):
        relative = np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-300)
    relative = np.where(np.isnan(a) & np.isnan(b), 0.0, relative)
    return float(np.max(np.nan_to_num(relative, nan=np.inf)))


class _Fits:
    """The fits of a hypothesis test: SLSQP, and L-BFGS-B started where SLSQP stopped.

    Every fit after the first starts from the best point of the fit it refines (the μ-fixed
    fits from the free fits, the fits to Asimov data from the background-only fit that made
    the data), so each needs few iterations. The cross-check restarts L-BFGS-B at SLSQP's
    minimum: at a converged minimum it stops after a few gradient calls, and any descent it
    still finds is SLSQP's convergence error, which the status reports. The Asimov data come
    from the lower background-only fit, so both minimisers fit identical data.
    """

    def __init__(self, likelihood: Likelihood, cross_check: bool = True):
        self.likelihood = likelihood
        self.minimisers = tuple(MINIMISERS) if cross_check else ("slsqp",)
        background = self._fits(likelihood.data, 0.0, likelihood.init)
        self.data = {"data": likelihood.data, "asimov": likelihood.expected_data(background["best"][0])}
        self.free = {"data": self._fits(self.data["data"], None, likelihood.init),
                     "asimov": self._fits(self.data["asimov"], None, background["best"][0])}

    def _fits(self, data: np.ndarray, poi: float | None, start: np.ndarray) -> dict:
        out = {}
        for name in self.minimisers:
            out[name] = fit(self.likelihood, data, name, poi, start)
            start = out[name][0]
        out["best"] = min(out.values(), key=lambda pair: pair[1])
        return out

    def at(self, poi: float) -> dict:
        """(q̃_μ, q̃_μ,A) at ``poi`` for each minimiser and for the best fits of all."""
        fixed = {kind: self._fits(self.data[kind], poi, self.free[kind]["best"][0]) for kind in self.data}
        index = self.likelihood.poi_index
        return {name: tuple(_qmu(fixed[kind][name], self.free[kind][name], poi, index) for kind in self.data)
                for name in (*self.minimisers, "best")}


def hypotest(likelihood: Likelihood, poi: float = 1.0, fits: _Fits | None = None) -> CLsResult:
    """Asymptotic CLs of signal strength ``poi`` with q̃_μ, from converged fits.

    Args:
        likelihood: the compiled likelihood of a signal workspace.
        poi: the tested signal strength.
        fits: reuse the background-only and free fits of an earlier call (upper limits).

    Returns:
        The observed and expected CLs with a status.
    """
    fits = fits or _Fits(likelihood)
    tests = fits.at(poi)
    qmu, qmu_asimov = tests["best"]
    if qmu_asimov <= _NO_SENSITIVITY:
        return CLsResult(None, None, "no_sensitivity", qmu, qmu_asimov, 0.0)
    cls_obs, cls_exp = _cls(qmu, qmu_asimov)
    values = [_cls_vector(*tests[name]) for name in fits.minimisers]
    spread = max((_spread(values[0], other) for other in values[1:]), default=0.0)
    status = "ok" if spread <= AGREEMENT else "ill_conditioned"
    return CLsResult(cls_obs, cls_exp, status, qmu, qmu_asimov, spread)


def upper_limit(likelihood: Likelihood, level: float = 0.05, rtol: float = 1e-4) -> dict:
    """Observed and expected upper limits on μ at CLs = ``level`` (brentq on the converged CLs).

    Args:
        likelihood: the compiled likelihood of a signal workspace.
        level: CLs of the limit (0.05 for 95% CL).
        rtol: relative tolerance of μ.

    Returns:
        ``{"obs": μ or None, "exp": [five μ or None]}``; ``None`` where CLs stays above
        ``level`` up to the POI's upper bound or the test has no sensitivity.
    """
    fits = _Fits(likelihood, cross_check=False)
    cache: dict[float, CLsResult] = {}

    def values(poi: float) -> list[float]:
        if poi not in cache:
            cache[poi] = hypotest(likelihood, poi, fits)
        result = cache[poi]
        # no sensitivity at this μ: nothing is excluded, as CLs → 1
        return [1.0] * 6 if result.cls_obs is None else [result.cls_obs, *result.cls_exp]

    low, high = likelihood.bounds[likelihood.poi_index]
    low = max(low, 1e-6 * high)
    limits = []
    for k in range(6):
        if values(high)[k] > level:
            limits.append(None)
            continue
        limits.append(float(brentq(lambda mu, k=k: values(mu)[k] - level, low, high, rtol=rtol)))
    return {"obs": limits[0], "exp": limits[1:]}

