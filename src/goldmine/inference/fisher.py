"""Fisher information on the extended likelihood L·σ(θ)·Π p(x|θ).

For weighted events, I_ij(θ) = L Σ_e ∂_i w_e ∂_j w_e / w_e (parton-level "truth");
the rate alone gives L ∂_iσ ∂_jσ / σ; a histogram L Σ_b ∂_iσ_b ∂_jσ_b / σ_b; an
estimated score t̂(x) the rate term plus L Σ_e w_e t̂_i t̂_j (arXiv:1805.00020 section 4.1,
MadMiner's FisherInformation). :func:`event_file_information` streams an event file
(goldmine's or MadMiner's) through the truth and rate terms.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "DEFAULT_LUMINOSITY",
    "event_file_information",
    "histogram_information",
    "rate_information",
    "score_information",
    "truth_information",
]

#: the luminosity :func:`event_file_information` assumes, in pb⁻¹ (300 fb⁻¹, MadMiner's default).
DEFAULT_LUMINOSITY = 300_000.0


def truth_information(weights: np.ndarray, weight_gradients: np.ndarray, luminosity: float) -> np.ndarray:
    """Parton-level information, L Σ_e ∂w ∂wᵀ / w.

    Negative weights (NLO samples) count with their sign: an event and its negative
    counter-event at the same phase-space point, w₊ = s₊ f(θ) and w₋ = −s₋ f(θ), add up to
    the information (s₊ − s₋) f′²/f of their sum, where leaving the negative one out would
    overstate it. Events of weight exactly zero carry none.

    Args:
        weights: w_e(θ) in pb, shape (n,).
        weight_gradients: ∂w_e/∂θ, shape (n, p).
        luminosity: in pb⁻¹.

    Example:
        >>> truth_information(np.array([2.0]), np.array([[1.0, 0.0]]), 10.0)
        array([[5., 0.],
               [0., 0.]])
    """
    nonzero = weights != 0
    g = weight_gradients[nonzero]
    return luminosity * np.einsum("ni,nj,n->ij", g, g, 1.0 / weights[nonzero])


def rate_information(cross_section: float, cross_section_gradient: np.ndarray, luminosity: float) -> np.ndarray:
    """Information in the total rate, L ∂σ ∂σᵀ / σ."""
    return luminosity * np.outer(cross_section_gradient, cross_section_gradient) / cross_section


def histogram_information(bin_cross_sections: np.ndarray, bin_gradients: np.ndarray, luminosity: float) -> np.ndarray:
    """Information in a histogram, L Σ_b ∂σ_b ∂σ_bᵀ / σ_b over bins with σ_b > 0.

    Args:
        bin_cross_sections: σ_b, shape (n_bins,).
        bin_gradients: ∂σ_b/∂θ, shape (n_bins, p).
    """
    # A bin without positive expectation (empty, or net negative weights) has no Poisson likelihood.
    filled = bin_cross_sections > 0
    return truth_information(bin_cross_sections[filled], bin_gradients[filled], luminosity)


def score_information(weights: np.ndarray, scores: np.ndarray, cross_section_gradient: np.ndarray,
                      luminosity: float) -> np.ndarray:
    """Information of an estimated score: L Σ_e w_e t̂ t̂ᵀ plus the rate term.

    Args:
        weights: w_e(θ) in pb, shape (n,); Σ w_e = σ(θ).
        scores: t̂(x_e|θ), shape (n, p).
        cross_section_gradient: ∂σ/∂θ, shape (p,).
    """
    cross_section = weights.sum()
    shape = luminosity * np.einsum("ni,nj,n->ij", scores, scores, weights)
    return shape + rate_information(cross_section, cross_section_gradient, luminosity)


def event_file_information(path: str | Path, theta: np.ndarray | list[float] | None = None,
                           luminosity: float = DEFAULT_LUMINOSITY, step_size: int = 200_000) -> dict[str, Any]:
    """Truth-level and rate-only Fisher information of an event file, read in blocks of
    ``step_size`` events (bounded memory): what MadMiner's
    ``FisherInformation(path).truth_information(theta, luminosity)`` computes, for goldmine's
    and MadMiner's event files alike.

    The weights are those of the physics benchmarks, morphed to θ; negative weights count
    with their sign, as in MadMiner (:func:`truth_information`). Nuisance parameters are not
    included.

    Args:
        path: an event file.
        theta: the parameter point; default the file's reference benchmark
            (``benchmarks/is_reference``; goldmine flags ``sm``), else θ = 0.
        luminosity: integrated luminosity in pb⁻¹ (weights are in pb).
        step_size: events per block.

    Returns:
        dict: ``parameters`` (names), ``theta``, ``luminosity_pb``, ``events``,
        ``cross_section_pb`` (σ(θ)), ``truth`` and ``rate`` (Fisher matrices as nested lists),
        and ``truth_covariance``: the Monte-Carlo covariance of the flattened (row-major) truth
        matrix, (p², p²), from the event-by-event scatter of its terms L ∂w ∂wᵀ / w
        (n Var of one event's term, the events independent draws).

    Raises:
        goldmine.exceptions.EventFileError: naming the file when it is not an event file.

    Example:
        >>> from goldmine.physics.parameters import build_parameter_space
        >>> from goldmine.io import events
        >>> import tempfile
        >>> space = build_parameter_space(("c",), {"c": (-1, 1)}, (2,), 2, n_trials=10)
        >>> path = tempfile.mkdtemp() + "/events.h5"
        >>> weights = np.array([[1.0, 2.0, 1.0], [1.0, 1.0, 1.0]])  # flat in c for event 2
        >>> _ = events.write(path, space, ["x"], ["x"], events.Events(np.zeros((2, 1)), weights, np.zeros(2, int)))
        >>> information = event_file_information(path, luminosity=1.0)
        >>> information["theta"], information["events"], information["cross_section_pb"]
        ([0.0], 2, 2.0)
    """
    from goldmine.io import events

    space = events.read_parameter_space(path)
    if theta is None:
        reference = events.reference_benchmark(path)
        theta = space.benchmark(reference) if reference in space.benchmark_names else np.zeros(space.n_parameters)
    theta = np.asarray(theta, dtype=float).reshape(space.n_parameters)
    truth = np.zeros((space.n_parameters, space.n_parameters))
    second_moment = np.zeros((space.n_parameters**2, space.n_parameters**2))
    cross_section, cross_section_gradient, n_events = 0.0, np.zeros(space.n_parameters), 0
    for block in events.iterate(path, step_size=step_size):
        weights = space.weights(block.weights, theta)
        gradients = space.weight_gradients(block.weights, theta)
        truth += truth_information(weights, gradients, luminosity)
        nonzero = weights != 0
        terms = luminosity * np.einsum("ni,nj,n->nij", gradients[nonzero], gradients[nonzero],
                                       1.0 / weights[nonzero]).reshape(int(nonzero.sum()), -1)
        second_moment += terms.T @ terms
        cross_section += float(weights.sum())
        cross_section_gradient += gradients.sum(axis=0)
        n_events += len(block)
    return {
        "parameters": list(space.names),
        "theta": theta.tolist(),
        "luminosity_pb": float(luminosity),
        "events": n_events,
        "cross_section_pb": cross_section,
        "truth": truth.tolist(),
        "rate": rate_information(cross_section, cross_section_gradient, luminosity).tolist(),
        "truth_covariance": (second_moment - np.outer(truth.ravel(), truth.ravel()) / max(n_events, 1)).tolist(),
    }
