"""A HistFactory (pyhf) model of a histogram whose θ dependence is exact by morphing.

Each morphing component c is one sample with the yields L·Σ_{e∈b} W_{e,c} and a
``normfactor`` named after its monomial a_c(θ) (e.g. ``morph_c_vv*c_aa``); setting the
normfactors to a_c(θ) gives ν_b(θ) = Σ_c a_c(θ) ν_{b,c} exactly. The workspace is
therefore a complete, publishable likelihood of the EFT parameters: anyone with pyhf
can evaluate it at any θ. Systematics enter as HistFactory modifiers on every sample
(:mod:`goldmine.inference.systematics`): a correlated ``normsys`` on the normalisation, the
luminosity (``lumi``) and shape variations (``histosys``, the same relative change of each
bin for every component); pyhf profiles them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyhf
from tqdm.auto import tqdm

from goldmine.physics.morphing import monomials

__all__ = ["CHANNEL", "FIT_TOLERANCE", "HistogramModel", "component_names", "parse_component_name"]

CHANNEL = "histogram"

#: SLSQP's tolerance for the nuisance-parameter fits: the published likelihood is checked against
#: pyhf's own fits to 10⁻⁶ in q (tests/test_publish.py), tighter than scipy's default stops.
FIT_TOLERANCE = 1e-10


def component_names(parameter_names: Sequence[str], components: np.ndarray) -> list[str]:
    """Normfactor names of the morphing components.

    Example:
        >>> component_names(["a", "b"], np.array([[0, 0], [1, 1], [2, 0]]))
        ['morph_1', 'morph_a*b', 'morph_a^2']
    """
    names = []
    for exponents in components:
        factors = [name if k == 1 else f"{name}^{k}" for name, k in zip(parameter_names, exponents) if k > 0]
        names.append("morph_" + ("*".join(factors) if factors else "1"))
    return names


def parse_component_name(name: str, parameter_names: Sequence[str]) -> np.ndarray:
    """The exponents of a normfactor named by :func:`component_names`.

    Example:
        >>> parse_component_name("morph_a*b^2", ["a", "b"]).tolist()
        [1, 2]
    """
    exponents = np.zeros(len(parameter_names), dtype=int)
    body = name.removeprefix("morph_")
    if body != "1":
        for factor in body.split("*"):
            parameter, _, power = factor.partition("^")
            exponents[list(parameter_names).index(parameter)] = int(power or 1)
    return exponents


class HistogramModel:
    """A pyhf model of a histogram, evaluated on a θ grid.

    Args:
        parameter_names: the EFT parameter names.
        components: morphing components, shape (n_c, p).
        component_yields: expected events per bin of each component, shape (n_c, n_bins).
        observed: the observed (or Asimov) counts per bin.
        normalisation_uncertainty: relative uncertainty of a correlated normsys on every
            sample (0 for none).
        luminosity_uncertainty: relative uncertainty of the luminosity, pyhf's ``lumi`` (0 for none).
        shapes: nuisance name → (up, down), the relative change of each bin at ±1σ (a ``histosys``).

    Example:
        >>> components = np.array([[0], [1], [2]])
        >>> model = HistogramModel(["c"], components, np.array([[10.0, 10.0], [2.0, -2.0], [1.0, 1.0]]),
        ...                        observed=[10.0, 10.0])
        >>> [round(float(v), 6) for v in model.q(np.array([[0.0], [1.0]]))]
        [0.0, 0.859925]
    """

    def __init__(self, parameter_names: Sequence[str], components: np.ndarray, component_yields: np.ndarray,
                 observed: Sequence[float], normalisation_uncertainty: float = 0.0, luminosity_uncertainty: float = 0.0,
                 shapes: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None) -> None:
        self.components = np.asarray(components)
        self.names = component_names(parameter_names, self.components)
        self.workspace = pyhf.Workspace(self._spec(np.asarray(component_yields, dtype=float), observed,
                                                   normalisation_uncertainty, luminosity_uncertainty, shapes or {}))
        self.model = self.workspace.model()
        self.data = self.workspace.data(self.model)
        self._morph_indices = [self.model.config.par_slice(name).start for name in self.names]
        self.nuisance_names = [name for name in self.model.config.par_order if name not in self.names]

    def _spec(self, component_yields: np.ndarray, observed: Sequence[float], uncertainty: float,
              luminosity_uncertainty: float, shapes: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, Any]:
        samples = []
        for name, yields in zip(self.names, component_yields):
            modifiers: list[dict[str, Any]] = [{"name": name, "type": "normfactor", "data": None}]
            if uncertainty > 0:
                modifiers.append({"name": "normalisation", "type": "normsys",
                                  "data": {"hi": 1.0 + uncertainty, "lo": 1.0 - uncertainty}})
            if luminosity_uncertainty > 0:
                modifiers.append({"name": "lumi", "type": "lumi", "data": None})
            for shape, (up, down) in shapes.items():
                modifiers.append({"name": shape, "type": "histosys",
                                  "data": {"hi_data": (yields * up).tolist(), "lo_data": (yields * down).tolist()}})
            samples.append({"name": name.removeprefix("morph_"), "data": yields.tolist(), "modifiers": modifiers})
        sm_values = monomials(np.zeros(self.components.shape[1]), self.components)
        parameters = [{"name": name, "bounds": [[-1e12, 1e12]], "inits": [float(value)], "fixed": True}
                      for name, value in zip(self.names, sm_values)]
        if luminosity_uncertainty > 0:
            parameters.append({"name": "lumi", "auxdata": [1.0], "sigmas": [luminosity_uncertainty],
                               "inits": [1.0], "bounds": [[max(0.0, 1.0 - 10 * luminosity_uncertainty),
                                                           1.0 + 10 * luminosity_uncertainty]]})
        return {
            "version": "1.0.0",
            "channels": [{"name": CHANNEL, "samples": samples}],
            "observations": [{"name": CHANNEL, "data": [float(v) for v in observed]}],
            "measurements": [{"name": "eft", "config": {"poi": self.names[0], "parameters": parameters}}],
        }

    def parameters(self, theta: np.ndarray) -> np.ndarray:
        """pyhf's parameter vector at θ: the morphing normfactors a_c(θ), the nuisance parameters nominal."""
        pars = np.asarray(self.model.config.suggested_init(), dtype=float)
        pars[self._morph_indices] = monomials(np.asarray(theta, dtype=float), self.components)
        return pars

    def twice_nll(self, theta: np.ndarray) -> float:
        """−2 log L at θ, nuisance parameters profiled."""
        pars = self.parameters(theta)
        if not self.nuisance_names:
            return float(-2.0 * self.model.logpdf(pars, self.data)[0])
        fixed = self.model.config.suggested_fixed()
        _, twice_nll = pyhf.infer.mle.fit(self.data, self.model, init_pars=pars.tolist(), fixed_params=fixed,
                                          return_fitted_val=True, tolerance=FIT_TOLERANCE)
        return float(twice_nll)

    def information(self, theta: np.ndarray, step: float = 1e-4) -> np.ndarray:
        """The Fisher information of (θ, nuisance parameters) on the Asimov data of θ, from pyhf's model.

        Σ_b ∂ν_b ∂ν_bᵀ / ν_b over bins with ν_b > 0, plus each Gaussian constraint's 1/σ². The
        derivatives are central differences of pyhf's expected data (its own interpolation of
        the modifiers): exact for θ (ν is quadratic in each) and for lumi and symmetric histosys
        (linear), second order in ``step`` for normsys.

        Returns:
            shape (p + k, p + k), θ first, then :attr:`nuisance_names` in order.
        """
        theta = np.asarray(theta, dtype=float)
        base = self.parameters(theta)
        nuisance_indices = [self.model.config.par_slice(name).start for name in self.nuisance_names]

        def expected(shift_theta: np.ndarray, shift_nuisance: np.ndarray) -> np.ndarray:
            pars = self.parameters(theta + shift_theta)
            pars[nuisance_indices] = base[nuisance_indices] + shift_nuisance
            return np.asarray(self.model.expected_actualdata(pars), dtype=float)

        p, k = len(theta), len(nuisance_indices)
        gradients = []
        for i in range(p + k):
            shift = np.zeros(p + k)
            shift[i] = step
            gradients.append((expected(shift[:p], shift[p:]) - expected(-shift[:p], -shift[p:])) / (2 * step))
        gradients = np.array(gradients)
        nominal = expected(np.zeros(p), np.zeros(k))
        filled = nominal > 0
        information = np.einsum("ib,jb,b->ij", gradients[:, filled], gradients[:, filled], 1.0 / nominal[filled])
        for j, name in enumerate(self.nuisance_names):
            information[p + j, p + j] += 1.0 / float(self.model.config.param_set(name).width()[0]) ** 2
        return information

    def q(self, thetas: np.ndarray, progress: bool = False) -> np.ndarray:
        """q(θ) = −2 log L(θ)/L(θ̂) over the given points, θ̂ the best of them."""
        points = tqdm(np.atleast_2d(thetas), desc="histogram (pyhf)", unit="point", disable=not progress)
        values = np.array([self.twice_nll(theta) for theta in points])
        return values - values.min()
