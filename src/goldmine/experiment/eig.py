"""Expected information gain of an experiment from its Fisher information.

For a likelihood that is Gaussian in θ near the prior mean (the asymptotic regime, where the
Fisher information F_L at luminosity L is the inverse covariance of the estimator) and a
Gaussian prior N(θ0, Σ0), the posterior covariance is (Σ0⁻¹ + F_L)⁻¹ and the expected
information gain, the expected Kullback-Leibler divergence of posterior from prior
(Lindley 1956, Ann. Math. Statist. 27, 986), is

    EIG = ½ log det(1 + Σ0 F_L)

the linear-Gaussian case (Chaloner & Verdinelli 1995, Statist. Sci. 10, 273, section 2.1:
Bayesian D-optimality). It grows with F_L in every direction, rewards information in the
directions the prior leaves open, and saturates where Σ0 F_L ≫ 1 only logarithmically.

Its Monte-Carlo error follows from the covariance C of the flattened F_L (the event-by-event
scatter, :func:`goldmine.inference.fisher.event_file_information`): to first order
δEIG = Σ_ij G_ij δF_ij with G = ½ ((1 + Σ0 F_L)⁻¹ Σ0)ᵀ, so Var EIG = vec(G)ᵀ C vec(G).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["expected_information_gain", "information_gain_of", "prior_covariance"]


def prior_covariance(widths: float | Mapping[str, float], parameters: Sequence[str]) -> np.ndarray:
    """The prior covariance Σ0 = diag(width²): one width for every parameter, or one per name.

    Example:
        >>> prior_covariance({"c_vv": 0.1, "c_aa": 0.2}, ["c_vv", "c_aa"])
        array([[0.01, 0.  ],
               [0.  , 0.04]])
    """
    if isinstance(widths, Mapping):
        values = [float(widths[name]) for name in parameters]
    else:
        values = [float(widths)] * len(parameters)
    return np.diag(np.square(values))


def expected_information_gain(fisher: np.ndarray, prior: np.ndarray,
                              fisher_covariance: np.ndarray | None = None) -> tuple[float, float]:
    """EIG = ½ log det(1 + Σ0 F) in nats, and its Monte-Carlo error.

    Args:
        fisher: F_L, (p, p), at the experiment's luminosity.
        prior: Σ0, (p, p), the prior covariance.
        fisher_covariance: covariance of F_L flattened row-major, (p², p²); None: error 0.

    Returns:
        (eig, error): the gain in nats, and its standard error to first order in the error of F_L.

    Example:
        >>> eig, error = expected_information_gain(np.diag([3.0, 0.0]), np.eye(2), np.diag([4.0, 0, 0, 0]))
        >>> round(eig, 6), round(float(np.log(2.0)), 6), error  # ½ log(1 + 3) = log 2; error ½ · 2 / (1 + 3)
        (0.693147, 0.693147, 0.25)
    """
    fisher, prior = np.asarray(fisher, dtype=float), np.asarray(prior, dtype=float)
    matrix = np.eye(len(fisher)) + prior @ fisher
    sign, logdet = np.linalg.slogdet(matrix)
    eig = 0.5 * logdet if sign > 0 else float("-inf")
    if fisher_covariance is None:
        return float(eig), 0.0
    gradient = 0.5 * np.linalg.solve(matrix, prior).T.ravel()
    variance = float(gradient @ np.asarray(fisher_covariance, dtype=float) @ gradient)
    return float(eig), float(np.sqrt(max(variance, 0.0)))


def information_gain_of(information: Mapping[str, Any], prior: np.ndarray, luminosity: float | None = None,
                        events: float | None = None) -> dict[str, Any]:
    """EIG ± error of an experiment from the Fisher information of its simulated events.

    Args:
        information: :func:`goldmine.inference.fisher.event_file_information`'s result (``truth``,
            ``truth_covariance``, ``luminosity_pb``, ``cross_section_pb``).
        prior: Σ0.
        luminosity: the experiment's luminosity in pb⁻¹ (the information scales with it).
        events: instead, the experiment's expected number of selected events N: L = N / σ.

    Returns:
        dict: ``eig``, ``eig_error`` (nats), ``luminosity_pb`` and ``fisher`` (F_L, nested lists).

    Example:
        >>> information = {"truth": [[2.0]], "truth_covariance": [[0.04]], "luminosity_pb": 1.0,
        ...                "cross_section_pb": 4.0}
        >>> information_gain_of(information, np.eye(1), events=8.0)["luminosity_pb"]  # N / σ
        2.0
    """
    if (luminosity is None) == (events is None):
        raise ValueError("give either a luminosity or a number of events")
    if luminosity is None:
        luminosity = events / information["cross_section_pb"]
    scale = luminosity / information["luminosity_pb"]
    fisher = scale * np.asarray(information["truth"], dtype=float)
    covariance = scale**2 * np.asarray(information["truth_covariance"], dtype=float)
    eig, error = expected_information_gain(fisher, prior, covariance)
    return {"eig": eig, "eig_error": error, "luminosity_pb": float(luminosity), "fisher": fisher.tolist()}
