"""Nuisance parameters: what they are, and what they do to the Fisher information and to q.

Three kinds, all with a unit-Gaussian (normsys, histosys) or Gaussian (lumi) constraint, as
in a HistFactory model:

- ``normalisation``: a relative uncertainty of the total rate (pyhf ``normsys``);
- ``luminosity``: the relative uncertainty of the integrated luminosity (pyhf ``lumi``);
- shape variations: per-event weight factors up and down, e.g. MadGraph's scale or PDF
  weights of an external sample (the event file's nuisance benchmarks), or a synthetic linear
  tilt of one observable (``ee_mumu`` has no generator variations); binned, they are pyhf
  ``histosys`` modifiers.

With nuisance parameters ν beside θ, the Fisher information is a block matrix. Profiling
(the nuisance parameters fitted) leaves the Schur complement I_θθ − I_θν I_νν⁻¹ I_νθ, the
constraint terms being part of I_νν; projecting (the nuisance parameters known) leaves I_θθ.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "ShapeVariation",
    "Systematics",
    "nuisance_names",
    "profiled_information",
    "profiled_rate_scale",
    "projected_information",
    "rate_effects",
    "rate_nuisance_information",
    "tilt",
    "score_information_with_nuisances",
    "truth_information_with_nuisances",
    "weight_variations",
]


@dataclass(frozen=True)
class ShapeVariation:
    """A shape uncertainty: each event's weight is multiplied by ``up`` (``down``) at +1σ (−1σ).

    Args:
        name: the nuisance parameter's name.
        up: per-event weight factors at +1σ, shape (n_events,).
        down: per-event weight factors at −1σ, shape (n_events,).
    """

    name: str
    up: np.ndarray
    down: np.ndarray

    def binned(self, weights: np.ndarray, index: np.ndarray, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
        """The relative variation of each bin, (up, down), for events of weights ``weights`` in bins ``index``.

        A bin without weight keeps its yield (factor 1).

        Example:
            >>> variation = ShapeVariation("s", np.array([1.1, 1.3]), np.array([0.9, 0.7]))
            >>> [np.round(factors, 12).tolist() for factors in variation.binned(np.ones(2), np.array([0, 0]), 2)]
            [[1.2, 1.0], [0.8, 1.0]]
        """
        nominal = np.bincount(index, weights, n_bins)
        filled = nominal != 0
        factors = []
        for varied in (self.up, self.down):
            total = np.bincount(index, weights * varied, n_bins)
            factors.append(np.where(filled, total / np.where(filled, nominal, 1.0), 1.0))
        return factors[0], factors[1]


def tilt(name: str, values: np.ndarray, size: float) -> ShapeVariation:
    """A synthetic shape variation: a linear tilt 1 ± size·u(x), u running from −1 to +1 over the values' range.

    Args:
        name: the nuisance parameter's name.
        values: the observable, shape (n_events,).
        size: the relative change at the ends of the range.

    Example:
        >>> variation = tilt("t", np.array([0.0, 1.0, 2.0]), 0.1)
        >>> variation.up.tolist(), variation.down.tolist()
        ([0.9, 1.0, 1.1], [1.1, 1.0, 0.9])
    """
    low, high = float(np.min(values)), float(np.max(values))
    u = 2.0 * (values - low) / (high - low) - 1.0 if high > low else np.zeros_like(values, dtype=float)
    return ShapeVariation(name, 1.0 + size * u, 1.0 - size * u)


@dataclass(frozen=True)
class Systematics:
    """The nuisance parameters of an analysis.

    Args:
        normalisation: relative uncertainty of the total rate (0: none).
        luminosity: relative uncertainty of the integrated luminosity (0: none).
        shapes: the shape variations.

    Example:
        >>> round(Systematics(0.05, 0.02).rate_uncertainty, 12)
        0.053851648071
    """

    normalisation: float = 0.0
    luminosity: float = 0.0
    shapes: tuple[ShapeVariation, ...] = ()

    @property
    def rate_uncertainty(self) -> float:
        """The two rate uncertainties as one Gaussian-constrained scale factor, √(δ_norm² + δ_lumi²)."""
        return float(np.hypot(self.normalisation, self.luminosity))

    @property
    def any(self) -> bool:
        return self.normalisation > 0 or self.luminosity > 0 or bool(self.shapes)

    @classmethod
    def from_config(cls, settings: Mapping[str, Any], observables: Mapping[str, np.ndarray],
                    variations: Sequence[ShapeVariation] = ()) -> Systematics:
        """From ``inference.systematics``: ``normalisation``, ``luminosity`` and ``tilts``
        (name → {observable, size}), plus the event file's weight ``variations``.

        Args:
            settings: the config section.
            observables: observable name → its values on the test events (for the tilts).
            variations: shape variations from the generator's weights.
        """
        shapes = [tilt(name, observables[tilt_settings["observable"]], tilt_settings["size"])
                  for name, tilt_settings in settings.get("tilts", {}).items()]
        return cls(settings.get("normalisation", 0.0), settings.get("luminosity", 0.0),
                   tuple(shapes) + tuple(variations))


def profiled_information(information: np.ndarray, n_parameters: int) -> np.ndarray:
    """The Fisher information of the first ``n_parameters`` with the others (nuisance parameters) profiled.

    I_θθ − I_θν I_νν⁻¹ I_νθ: the inverse of the θθ block of the inverse, i.e. the covariance
    of θ̂ when ν is fitted too. ``information`` must include the constraint terms in I_νν.

    Args:
        information: the information of (θ, ν), shape (p + k, p + k).
        n_parameters: p.

    Example:
        >>> profiled_information(np.array([[4.0, 2.0], [2.0, 2.0]]), 1)  # 4 − 2·2/2
        array([[2.]])
    """
    information = np.asarray(information, dtype=float)
    theta, nuisance = slice(0, n_parameters), slice(n_parameters, None)
    cross = information[theta, nuisance]
    if cross.shape[1] == 0:
        return information[theta, theta].copy()
    return information[theta, theta] - cross @ np.linalg.solve(information[nuisance, nuisance], cross.T)


def projected_information(information: np.ndarray, n_parameters: int) -> np.ndarray:
    """The Fisher information of the first ``n_parameters`` with the nuisance parameters known (fixed).

    Example:
        >>> projected_information(np.array([[4.0, 2.0], [2.0, 2.0]]), 1)
        array([[4.]])
    """
    return np.asarray(information, dtype=float)[:n_parameters, :n_parameters].copy()


def rate_nuisance_information(information: np.ndarray, cross_section: float, cross_section_gradient: np.ndarray,
                              luminosity: float, uncertainties: Sequence[float]) -> np.ndarray:
    """Add nuisance parameters that scale the total rate to a method's information of θ.

    Each nuisance α_k multiplies the expected number of events, ν = Lσ(θ)·Π_k (1 + δ_k α_k)
    with α_k ~ N(0, 1), and leaves the shape p(x|θ) alone: its information is the Poisson
    term's, I_θα = L δ_k ∂σ, I_αα = L σ δ_k δ_l + 1 (the constraint) on the diagonal.

    Args:
        information: I_θθ of the method, shape (p, p) (it contains the rate term already).
        cross_section: σ(θ) in pb.
        cross_section_gradient: ∂σ/∂θ, shape (p,).
        luminosity: in pb⁻¹.
        uncertainties: δ_k, relative.

    Returns:
        the information of (θ, α), shape (p + k, p + k).

    Example:
        >>> full = rate_nuisance_information(np.array([[1.0]]), 2.0, np.array([1.0]), 1.0, [0.5])
        >>> full.tolist()
        [[1.0, 0.5], [0.5, 1.5]]
    """
    delta = np.asarray(uncertainties, dtype=float)
    p, k = len(cross_section_gradient), len(delta)
    full = np.zeros((p + k, p + k))
    full[:p, :p] = information
    full[:p, p:] = luminosity * np.outer(cross_section_gradient, delta)
    full[p:, :p] = full[:p, p:].T
    full[p:, p:] = luminosity * cross_section * np.outer(delta, delta) + np.eye(k)
    return full


def profiled_rate_scale(expected: np.ndarray, observed: float | np.ndarray, uncertainty: float) -> np.ndarray:
    """The best-fit scale factor k of an expected count ν, constrained by N(k | 1, δ).

    k minimises 2[νk − n log(νk)] + (k − 1)²/δ², the root of k² + (νδ² − 1)k − nδ² = 0
    that is positive.

    Args:
        expected: ν, any shape.
        observed: n.
        uncertainty: δ (0: k = 1).

    Example:
        >>> round(float(profiled_rate_scale(np.array(100.0), 100.0, 0.1)), 12)  # the expectation is the data
        1.0
        >>> round(float(profiled_rate_scale(np.array(50.0), 100.0, 1e6)), 6)  # unconstrained: k = n/ν
        2.0
    """
    expected = np.asarray(expected, dtype=float)
    if uncertainty == 0:
        return np.ones_like(expected)
    variance = uncertainty**2
    b = expected * variance - 1.0
    return 0.5 * (-b + np.sqrt(b * b + 4.0 * observed * variance))


def weight_variations(path: str | Path, reference_weights: np.ndarray, start: int = 0,
                      stop: int | None = None) -> tuple[ShapeVariation, ...]:
    """The shape variations of an event file's nuisance parameters (MadGraph's scale and PDF weights).

    Each nuisance parameter's up (down) benchmark weights, divided by the events' weights at
    the reference point, are its per-event factors; without a down benchmark the variation is
    symmetric (down = 2 − up). Events of zero reference weight keep factor 1.

    Args:
        path: the event file (e.g. the test events of an external sample).
        reference_weights: the events' weights at the reference point, shape (n_events,).
        start: the first event (e.g. of the training part, for the per-nuisance networks).
        stop: after the last event (None: the end of the file).

    Returns:
        one :class:`ShapeVariation` per nuisance parameter; none when the file has none.
    """
    from goldmine.io import events

    variations = events.read_systematics(path)
    if variations is None or not variations.nuisance_parameters:
        return ()
    weights = np.concatenate([block.weights for block in events.iterate(path, start=start, stop=stop, nuisance=True)])
    first = weights.shape[1] - len(variations.benchmarks)
    column = {name: first + i for i, name in enumerate(variations.benchmarks)}
    nonzero = reference_weights != 0
    safe = np.where(nonzero, reference_weights, 1.0)

    def factors(benchmark: str) -> np.ndarray:
        return np.where(nonzero, weights[:, column[benchmark]] / safe, 1.0)

    shapes = []
    for name, _, positive, negative in variations.nuisance_parameters:
        if positive is None:
            continue
        up = factors(positive)
        shapes.append(ShapeVariation(name, up, factors(negative) if negative is not None else 2.0 - up))
    return tuple(shapes)


def truth_information_with_nuisances(weights: np.ndarray, weight_gradients: np.ndarray, luminosity: float,
                                     nuisances: Systematics) -> np.ndarray:
    """Parton-level information of (θ, nuisance parameters): every nuisance as a per-event weight derivative.

    ∂w/∂α is w·δ for the normalisation and the luminosity and w·(up − down)/2 for a shape
    variation; each nuisance has a unit-Gaussian constraint.

    Args:
        weights: w_e at the reference point, shape (n,).
        weight_gradients: ∂w_e/∂θ, shape (n, p).
        luminosity: in pb⁻¹.
        nuisances: the systematics, in the order of :func:`nuisance_names`.

    Returns:
        shape (p + k, p + k).

    Example:
        >>> full = truth_information_with_nuisances(np.array([2.0]), np.array([[1.0]]), 1.0, Systematics(0.5))
        >>> full.tolist()
        [[0.5, 0.5], [0.5, 1.5]]
    """
    from goldmine.inference.fisher import truth_information

    columns = [weights * delta for delta in (nuisances.normalisation, nuisances.luminosity) if delta > 0]
    columns += [weights * (shape.up - shape.down) / 2.0 for shape in nuisances.shapes]
    gradients = np.column_stack([weight_gradients] + columns)
    full = truth_information(weights, gradients, luminosity)
    p = weight_gradients.shape[1]
    full[p:, p:] += np.eye(len(columns))
    return full


def score_information_with_nuisances(information: np.ndarray, weights: np.ndarray, scores: np.ndarray,
                                     cross_section_gradient: np.ndarray, luminosity: float,
                                     nuisances: Systematics) -> np.ndarray:
    """The information of (θ, nuisance parameters) of a method with an estimated score t̂(x).

    Per event, the gradient of log(σ p(x)) is t̂ + ∇_θ log σ for θ and, for the nuisance
    parameters, δ (normalisation, luminosity) or s = (up − down)/2 (a shape variation): the
    cross terms are L Σ_e w_e (t̂_e + ∇ log σ) g_eᵀ and the nuisance block L Σ_e w_e g_e g_eᵀ
    plus the unit constraints. For a shape variation that depends on x only (a tilt) this is
    exact; for the generator's weight variations s depends on z, and the nuisance block is
    the larger joint one, an upper bound.

    Args:
        information: the method's own I_θθ (shape (p, p)).
        weights: w_e at the reference point, shape (n,).
        scores: t̂(x_e), shape (n, p).
        cross_section_gradient: ∂σ/∂θ, shape (p,).
        luminosity: in pb⁻¹.
        nuisances: the systematics.

    Returns:
        shape (p + k, p + k), the nuisance parameters in :func:`nuisance_names` order.

    Example:
        >>> full = score_information_with_nuisances(np.array([[1.0]]), np.array([1.0, 1.0]), np.array([[1.0], [-1.0]]),
        ...                                         np.array([0.0]), 1.0, Systematics(0.5))
        >>> full.tolist()  # a pure normalisation uncertainty: no correlation with a shape-only θ
        [[1.0, 0.0], [0.0, 1.5]]
    """
    columns = [np.full(len(weights), delta) for delta in (nuisances.normalisation, nuisances.luminosity) if delta > 0]
    columns += [(shape.up - shape.down) / 2.0 for shape in nuisances.shapes]
    nuisance = np.column_stack(columns)
    theta = scores + cross_section_gradient / weights.sum()
    p, k = scores.shape[1], nuisance.shape[1]
    full = np.zeros((p + k, p + k))
    full[:p, :p] = information
    full[:p, p:] = luminosity * np.einsum("n,ni,nj->ij", weights, theta, nuisance)
    full[p:, :p] = full[:p, p:].T
    full[p:, p:] = luminosity * np.einsum("n,ni,nj->ij", weights, nuisance, nuisance) + np.eye(k)
    return full


def rate_effects(weights: np.ndarray, nuisances: Systematics) -> list[float]:
    """Each nuisance parameter's relative effect on the total rate, (1/σ) ∂σ/∂α, in :func:`nuisance_names` order.

    Example:
        >>> shape = ShapeVariation("s", np.array([1.2, 1.0]), np.array([0.8, 1.0]))
        >>> [round(effect, 12) for effect in rate_effects(np.array([1.0, 1.0]), Systematics(0.1, shapes=(shape,)))]
        [0.1, 0.1]
    """
    total = float(weights.sum())
    effects = [delta for delta in (nuisances.normalisation, nuisances.luminosity) if delta > 0]
    return effects + [float(weights @ (shape.up - shape.down) / 2.0) / total for shape in nuisances.shapes]


def nuisance_names(nuisances: Systematics) -> list[str]:
    """The nuisance parameters' names in the order of the information matrices here.

    Example:
        >>> nuisance_names(Systematics(0.1, 0.02))
        ['normalisation', 'lumi']
    """
    names = [name for name, delta in (("normalisation", nuisances.normalisation), ("lumi", nuisances.luminosity))
             if delta > 0]
    return names + [shape.name for shape in nuisances.shapes]
