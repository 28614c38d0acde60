"""Reweighted-histogram closure of a likelihood ratio: does r̂ turn θ_ref events into θ events?

For each θ and observable, the test events weighted at θ through the morphing (the target)
are histogrammed beside the same events weighted at θ_ref and multiplied by r̂(x|θ, θ_ref)
(the reweighted; scaled to the target's total, so that the closure tests the shape). A
correct ratio closes bin by bin: E[w_e(θ) | x] = w_e(θ_ref) r(x|θ, θ_ref) σ(θ)/σ(θ_ref). The
variance of each bin's difference is the sum over its events of the squared per-event
difference (both histograms hold the same events), and χ² = Σ difference² / variance over
bins, observables and θ, divided by the number of bins that have events.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from goldmine.physics.morphing import Morphed

__all__ = ["closure"]


def closure(events: Morphed, observations: np.ndarray, observable_names: Sequence[str], thetas: np.ndarray,
            theta_labels: Sequence[str], log_r: np.ndarray, reference: np.ndarray, bins: int = 20) -> dict[str, Any]:
    """The closure histograms of one ratio and its χ² per degree of freedom.

    Args:
        events: the test events.
        observations: their observables, shape (n, k).
        observable_names: the k names.
        thetas: where to close, shape (m, p).
        theta_labels: a name for each θ (e.g. the benchmark's).
        log_r: log r̂(x|θ, θ_ref) per θ and event, shape (m, n).
        reference: θ_ref.
        bins: equal-width bins per observable, over the observable's range.

    Returns:
        {"chi2_per_ndf", "chi2", "ndf", "thetas": label → {"theta", "normalisation" (E_ref[r̂], 1
        for a normalised ratio up to the sample's fluctuation), "observables": name → {"edges",
        "target", "reweighted", "variance"}}}, JSON-ready.

    Example:
        >>> from goldmine.physics.morphing import find_components
        >>> x = np.linspace(-1, 1, 1000)[:, None]
        >>> events = Morphed(find_components((1,)), np.column_stack([np.ones(1000), x[:, 0]]))  # 1 + θx
        >>> exact = np.log(1 + 0.5 * x[:, 0])[None]
        >>> closure(events, x, ["x"], np.array([[0.5]]), ["b"], exact, np.zeros(1), bins=4)["chi2"]
        0.0
    """
    weights_ref = events(reference)
    chi2 = 0.0
    ndf = 0
    per_theta = {}
    for theta, label, log_ratio in zip(np.atleast_2d(thetas), theta_labels, log_r):
        target = events(theta)
        reweighted = weights_ref * np.exp(log_ratio)
        normalisation = float(reweighted.sum() / weights_ref.sum())
        reweighted *= target.sum() / reweighted.sum()
        squared = (target - reweighted) ** 2
        histograms = {}
        for column, name in enumerate(observable_names):
            values = observations[:, column]
            edges = np.linspace(values.min(), values.max(), bins + 1)
            index = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, bins - 1)
            target_counts = np.bincount(index, weights=target, minlength=bins)
            reweighted_counts = np.bincount(index, weights=reweighted, minlength=bins)
            # the scale to the target's total comes from the same events: to first order a bin's
            # difference is Σ_e ([e in bin] − f_bin)·(target_e − reweighted_e), f_bin its share
            share = reweighted_counts / reweighted.sum()
            variance = (1 - 2 * share) * np.bincount(index, weights=squared, minlength=bins) + share**2 * squared.sum()
            filled = variance > 0
            chi2 += float(np.sum((target_counts - reweighted_counts)[filled] ** 2 / variance[filled]))
            ndf += int(filled.sum())
            histograms[name] = {"edges": edges.tolist(), "target": target_counts.tolist(),
                                "reweighted": reweighted_counts.tolist(), "variance": variance.tolist()}
        per_theta[label] = {"theta": np.asarray(theta).tolist(), "normalisation": normalisation,
                            "observables": histograms}
    return {"chi2_per_ndf": chi2 / ndf if ndf else None, "chi2": chi2, "ndf": ndf, "thetas": per_theta}
