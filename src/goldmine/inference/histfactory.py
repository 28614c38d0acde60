"""A HistFactory (pyhf) model of a histogram whose θ dependence is exact by morphing.

Each morphing component c is one sample with the yields L·Σ_{e∈b} W_{e,c} and a
``normfactor`` named after its monomial a_c(θ) (e.g. ``morph_c_vv*c_aa``); setting the
normfactors to a_c(θ) gives ν_b(θ) = Σ_c a_c(θ) ν_{b,c} exactly. The workspace is
therefore a complete, publishable likelihood of the EFT parameters: anyone with pyhf
can evaluate it at any θ. Systematics enter as HistFactory modifiers (a correlated
``normsys`` on the normalisation) and are profiled by pyhf.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyhf
from tqdm.auto import tqdm

from goldmine.physics.morphing import monomials

__all__ = ["HistogramModel", "component_names"]

CHANNEL = "histogram"


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


class HistogramModel:
    """A pyhf model of a histogram, evaluated on a θ grid.

    Args:
        parameter_names: the EFT parameter names.
        components: morphing components, shape (n_c, p).
        component_yields: expected events per bin of each component, shape (n_c, n_bins).
        observed: the observed (or Asimov) counts per bin.
        normalisation_uncertainty: relative uncertainty of a correlated normsys on every
            sample (0 for none).

    Example:
        >>> components = np.array([[0], [1], [2]])
        >>> model = HistogramModel(["c"], components, np.array([[10.0, 10.0], [2.0, -2.0], [1.0, 1.0]]),
        ...                        observed=[10.0, 10.0])
        >>> [round(float(v), 6) for v in model.q(np.array([[0.0], [1.0]]))]
        [0.0, 0.859925]
    """

    def __init__(self, parameter_names: Sequence[str], components: np.ndarray, component_yields: np.ndarray,
                 observed: Sequence[float], normalisation_uncertainty: float = 0.0) -> None:
        self.components = np.asarray(components)
        self.names = component_names(parameter_names, self.components)
        self.workspace = pyhf.Workspace(self._spec(component_yields, observed, normalisation_uncertainty))
        self.model = self.workspace.model()
        self.data = self.workspace.data(self.model)
        self._morph_indices = [self.model.config.par_slice(name).start for name in self.names]
        self._has_nuisance = normalisation_uncertainty > 0

    def _spec(self, component_yields: np.ndarray, observed: Sequence[float], uncertainty: float) -> dict[str, Any]:
        samples = []
        for name, yields in zip(self.names, np.asarray(component_yields, dtype=float)):
            modifiers: list[dict[str, Any]] = [{"name": name, "type": "normfactor", "data": None}]
            if uncertainty > 0:
                modifiers.append({"name": "normalisation", "type": "normsys",
                                  "data": {"hi": 1.0 + uncertainty, "lo": 1.0 - uncertainty}})
            samples.append({"name": name.removeprefix("morph_"), "data": yields.tolist(), "modifiers": modifiers})
        sm_values = monomials(np.zeros(self.components.shape[1]), self.components)
        parameters = [{"name": name, "bounds": [[-1e12, 1e12]], "inits": [float(value)], "fixed": True}
                      for name, value in zip(self.names, sm_values)]
        return {
            "version": "1.0.0",
            "channels": [{"name": CHANNEL, "samples": samples}],
            "observations": [{"name": CHANNEL, "data": [float(v) for v in observed]}],
            "measurements": [{"name": "eft", "config": {"poi": self.names[0], "parameters": parameters}}],
        }

    def twice_nll(self, theta: np.ndarray) -> float:
        """−2 log L at θ, nuisance parameters profiled."""
        pars = np.asarray(self.model.config.suggested_init(), dtype=float)
        pars[self._morph_indices] = monomials(np.asarray(theta, dtype=float), self.components)
        if not self._has_nuisance:
            return float(-2.0 * self.model.logpdf(pars, self.data)[0])
        fixed = self.model.config.suggested_fixed()
        _, twice_nll = pyhf.infer.mle.fit(self.data, self.model, init_pars=pars.tolist(), fixed_params=fixed,
                                          return_fitted_val=True)
        return float(twice_nll)

    def q(self, thetas: np.ndarray, progress: bool = False) -> np.ndarray:
        """q(θ) = −2 log L(θ)/L(θ̂) over the given points, θ̂ the best of them."""
        points = tqdm(np.atleast_2d(thetas), desc="histogram (pyhf)", unit="point", disable=not progress)
        values = np.array([self.twice_nll(theta) for theta in points])
        return values - values.min()
