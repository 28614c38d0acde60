"""Fisher information on the extended likelihood L·σ(θ)·Π p(x|θ).

For weighted events, I_ij(θ) = L Σ_e ∂_i w_e ∂_j w_e / w_e (parton-level "truth");
the rate alone gives L ∂_iσ ∂_jσ / σ; a histogram L Σ_b ∂_iσ_b ∂_jσ_b / σ_b; an
estimated score t̂(x) the rate term plus L Σ_e w_e t̂_i t̂_j (arXiv:1805.00020 section 4.1,
MadMiner's FisherInformation).
"""

from __future__ import annotations

import numpy as np

__all__ = ["histogram_information", "rate_information", "score_information", "truth_information"]


def truth_information(weights: np.ndarray, weight_gradients: np.ndarray, luminosity: float) -> np.ndarray:
    """Parton-level information, L Σ_e ∂w ∂wᵀ / w.

    Args:
        weights: w_e(θ) in pb, shape (n,).
        weight_gradients: ∂w_e/∂θ, shape (n, p).
        luminosity: in pb⁻¹.

    Example:
        >>> truth_information(np.array([2.0]), np.array([[1.0, 0.0]]), 10.0)
        array([[5., 0.],
               [0., 0.]])
    """
    positive = weights > 0
    g = weight_gradients[positive]
    return luminosity * np.einsum("ni,nj,n->ij", g, g, 1.0 / weights[positive])


def rate_information(cross_section: float, cross_section_gradient: np.ndarray, luminosity: float) -> np.ndarray:
    """Information in the total rate, L ∂σ ∂σᵀ / σ."""
    return luminosity * np.outer(cross_section_gradient, cross_section_gradient) / cross_section


def histogram_information(bin_cross_sections: np.ndarray, bin_gradients: np.ndarray, luminosity: float) -> np.ndarray:
    """Information in a histogram, L Σ_b ∂σ_b ∂σ_bᵀ / σ_b over bins with σ_b > 0.

    Args:
        bin_cross_sections: σ_b, shape (n_bins,).
        bin_gradients: ∂σ_b/∂θ, shape (n_bins, p).
    """
    return truth_information(bin_cross_sections, bin_gradients, luminosity)


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
