r"""Morphing: event weights at any θ from the weights at a few benchmark points.

When the squared matrix element is a polynomial in the theory parameters
:math:`\theta = (\theta_1, \dots, \theta_p)`, so is the weight of every event:

.. math::

    w(z|\theta) = \sum_c a_c(\theta)\, W_c(z), \qquad
    a_c(\theta) = \prod_i \theta_i^{k_{ci}},

with one monomial ("component") :math:`a_c` per exponent vector :math:`k_c`.
Knowing the weights :math:`w_b(z) = w(z|\theta_b)` at as many benchmark points
:math:`\theta_b` (the *basis*) as there are components fixes the component
weights through the morphing matrix,

.. math::

    A_{bc} = a_c(\theta_b), \qquad W = M\, w_b, \qquad M = A^{-1},

so that :math:`w(z|\theta) = \sum_b \omega_b(\theta)\, w_b(z)` with the
morphing weights :math:`\omega(\theta) = a(\theta)^T M`. Their gradients,
:math:`\partial\omega_b/\partial\theta_i = \sum_c M_{cb}\,\partial a_c/\partial\theta_i`,
give the joint score that SALLY/RASCAL-type methods train on.

A bad basis gives huge morphing weights of both signs, whose cancellations
blow up statistical fluctuations and rounding errors. Following MadMiner, the
basis is chosen to minimise the expected squared morphing weights
:math:`\mathbb{E}_{\theta\sim U}[\sum_b \omega_b(\theta)^2]` over the parameter
ranges. For a uniform distribution this expectation is exact in closed form,
:math:`\operatorname{tr}(M^T S M)` with the monomials' second moments
:math:`S_{cd} = \mathbb{E}[a_c a_d]`, which :func:`optimize_basis` minimises.

References:
    - J. Brehmer, K. Cranmer, G. Louppe, J. Pavez, "A Guide to Constraining
      Effective Field Theories with Machine Learning", Phys. Rev. D 98 (2018)
      052004, arXiv:1805.00020.
    - J. Brehmer, F. Kling, I. Espejo, K. Cranmer, "MadMiner: Machine learning-based
      inference for particle physics", Comput. Softw. Big Sci. 4 (2020) 3,
      arXiv:1907.10621 (section on morphing).
    - ATLAS Collaboration, "A morphing technique for signal modelling in a
      multidimensional space of coupling parameters", ATL-PHYS-PUB-2015-047.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.optimize

__all__ = [
    "Morphed",
    "Morphing",
    "find_components",
    "monomial_gradients",
    "monomials",
    "optimize_basis",
]

#: Largest condition number of the morphing matrix A accepted for a basis.
MAX_CONDITION_NUMBER = 1e12


def find_components(max_powers: Sequence[int], max_overall_power: int | None = None) -> np.ndarray:
    """All monomials θ^k of a polynomial with the given maximal powers.

    The components are all exponent vectors k with ``0 <= k_i <= max_powers[i]``
    and ``sum(k) <= max_overall_power``, ordered by total degree, then
    lexicographically by exponent vector (so the constant term comes first and,
    within a degree, the last parameter varies fastest).

    Args:
        max_powers: highest power of each parameter in the squared matrix element.
        max_overall_power: highest total degree; default ``max(max_powers)``.

    Returns:
        np.ndarray: int array of shape (n_components, n_parameters).

    Raises:
        ValueError: for no parameters or negative powers.

    Example:
        >>> find_components((2, 2)).tolist()
        [[0, 0], [0, 1], [1, 0], [0, 2], [1, 1], [2, 0]]
        >>> find_components((4,)).shape
        (5, 1)
    """
    max_powers = tuple(int(power) for power in max_powers)
    if not max_powers:
        raise ValueError("find_components needs at least one parameter")
    if any(power < 0 for power in max_powers):
        raise ValueError(f"max_powers must be non-negative, got {list(max_powers)}")
    if max_overall_power is None:
        max_overall_power = max(max_powers)
    max_overall_power = int(max_overall_power)
    if max_overall_power < 0:
        raise ValueError(f"max_overall_power must be non-negative, got {max_overall_power}")
    exponents = [
        k for k in itertools.product(*(range(power + 1) for power in max_powers)) if sum(k) <= max_overall_power
    ]
    exponents.sort(key=lambda k: (sum(k), k))
    return np.array(exponents, dtype=int).reshape(len(exponents), len(max_powers))


def _check_theta(theta, components: np.ndarray) -> np.ndarray:
    theta = np.asarray(theta, dtype=float)
    n_parameters = components.shape[1]
    if theta.ndim == 0 or theta.shape[-1] != n_parameters:
        raise ValueError(f"theta must have shape ({n_parameters},) or (n, {n_parameters}), got {theta.shape}")
    return theta


def monomials(theta, components) -> np.ndarray:
    """The monomials a_c(θ) = Π_i θ_i^k_ci.

    Args:
        theta: shape (p,) or (n, p).
        components: int array (n_components, p) of exponents.

    Returns:
        np.ndarray: shape (n_components,) or (n, n_components).

    Example:
        >>> monomials([2.0, 3.0], find_components((2, 2))).tolist()
        [1.0, 3.0, 2.0, 9.0, 6.0, 4.0]
    """
    components = np.asarray(components, dtype=int)
    theta = _check_theta(theta, components)
    return np.prod(theta[..., None, :] ** components, axis=-1)


def monomial_gradients(theta, components) -> np.ndarray:
    """The gradients ∂a_c/∂θ_i = k_ci θ_i^(k_ci - 1) Π_{j≠i} θ_j^k_cj.

    Args:
        theta: shape (p,) or (n, p).
        components: int array (n_components, p) of exponents.

    Returns:
        np.ndarray: shape (n_components, p) or (n, n_components, p).

    Example:
        >>> monomial_gradients([2.0, 3.0], find_components((2, 2))).tolist()
        [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 6.0], [3.0, 2.0], [4.0, 0.0]]
    """
    components = np.asarray(components, dtype=int)
    theta = _check_theta(theta, components)
    n_parameters = components.shape[1]
    powers = theta[..., None, :] ** components  # (..., c, j)
    derivatives = components * theta[..., None, :] ** np.maximum(components - 1, 0)  # (..., c, i)
    # factors[..., c, i, j]: derivative of θ_j^k_cj if i == j, else θ_j^k_cj itself
    diagonal = np.eye(n_parameters, dtype=bool)
    factors = np.where(diagonal, derivatives[..., :, :, None], powers[..., :, None, :])
    return np.prod(factors, axis=-1)


def _as_ranges(ranges, n_parameters: int) -> np.ndarray:
    ranges = np.asarray(ranges, dtype=float)
    if ranges.shape != (n_parameters, 2):
        raise ValueError(f"ranges must have shape ({n_parameters}, 2), got {ranges.shape}")
    if np.any(ranges[:, 1] < ranges[:, 0]) or not np.all(np.isfinite(ranges)):
        raise ValueError(f"ranges must be finite (low, high) pairs with low <= high, got {ranges.tolist()}")
    return ranges


def _uniform_moments(ranges: np.ndarray, max_power: int) -> np.ndarray:
    """E[θ_i^k] for θ_i ~ U(low_i, high_i), shape (p, max_power + 1)."""
    low, high = ranges[:, :1], ranges[:, 1:]
    k = np.arange(max_power + 1)
    width = high - low
    degenerate = width == 0.0
    safe_width = np.where(degenerate, 1.0, width)
    moments = (high ** (k + 1) - low ** (k + 1)) / ((k + 1) * safe_width)
    return np.where(degenerate, low**k, moments)


def _second_moments(components: np.ndarray, ranges: np.ndarray) -> np.ndarray:
    """S_cd = E[a_c(θ) a_d(θ)] for θ uniform in the ranges, shape (n_c, n_c)."""
    exponents = components[:, None, :] + components[None, :, :]  # (c, d, p)
    moments = _uniform_moments(ranges, int(exponents.max(initial=0)))
    per_parameter = moments[np.arange(components.shape[1]), exponents]  # (c, d, p)
    return np.prod(per_parameter, axis=-1)


def _moment_root(second_moments: np.ndarray) -> np.ndarray:
    """L with L L^T = S (S symmetric positive semi-definite)."""
    eigenvalues, eigenvectors = np.linalg.eigh(second_moments)
    return eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))


def _condition_message(condition: float, basis: np.ndarray) -> str:
    rounded = np.round(basis, 12)
    _, first, counts = np.unique(rounded, axis=0, return_index=True, return_counts=True)
    duplicates = [basis[i].tolist() for i, count in zip(first, counts) if count > 1]
    message = (
        f"morphing basis is singular or ill-conditioned: condition number of the morphing matrix "
        f"{condition:.3g} > {MAX_CONDITION_NUMBER:.0e}"
    )
    if duplicates:
        message += f"; duplicate benchmark points {duplicates}"
    else:
        message += "; the benchmark points do not determine all components (e.g. too few distinct values per parameter)"
    return message


@dataclass(frozen=True, eq=False)
class Morphed:
    """Items whose weights are polynomials in θ: w_i(θ) = Σ_c a_c(θ) W_ic.

    The one evaluator of morphed weights: events (mining, inference), histogram bins (the
    HistFactory model) and cross sections (their sums) all go through it.

    Args:
        components: int array (n_c, p) of monomial exponents.
        component_weights: W, shape (n_items, n_c).

    Example:
        >>> morphed = Morphed(find_components((2,)), np.array([[1.0, 2.0, 1.0], [1.0, 0.0, 0.0]]))
        >>> morphed([1.0]).tolist(), morphed.total([1.0]).tolist(), morphed.gradient([1.0]).tolist()
        ([4.0, 1.0], 5.0, [[4.0], [0.0]])
    """

    components: np.ndarray
    component_weights: np.ndarray

    def __post_init__(self) -> None:
        components = np.asarray(self.components, dtype=int)
        weights = np.asarray(self.component_weights, dtype=float)
        if weights.ndim != 2 or weights.shape[1] != len(components):
            raise ValueError(f"component_weights must have shape (n_items, {len(components)}), got {weights.shape}")
        object.__setattr__(self, "components", components)
        object.__setattr__(self, "component_weights", weights)
        object.__setattr__(self, "_totals", weights.sum(axis=0))

    def __len__(self) -> int:
        return len(self.component_weights)

    def __call__(self, theta) -> np.ndarray:
        """w_i(θ), shape (n_items,) for θ of shape (p,), (m, n_items) for (m, p)."""
        return monomials(theta, self.components) @ self.component_weights.T

    def gradient(self, theta) -> np.ndarray:
        """∂w_i/∂θ, shape (n_items, p) for θ of shape (p,), (m, n_items, p) for (m, p)."""
        return np.einsum("ic,...cj->...ij", self.component_weights, monomial_gradients(theta, self.components))

    def total(self, theta) -> np.ndarray:
        """Σ_i w_i(θ) (e.g. the cross section), scalar or shape (m,)."""
        return monomials(theta, self.components) @ self._totals

    def total_gradient(self, theta) -> np.ndarray:
        """∇_θ Σ_i w_i(θ), shape (p,) or (m, p)."""
        return np.einsum("c,...cj->...j", self._totals, monomial_gradients(theta, self.components))

    def take(self, indices) -> Morphed:
        """The items at ``indices``."""
        return Morphed(self.components, self.component_weights[indices])

    def binned(self, index: np.ndarray, n_bins: int, scale: float = 1.0) -> Morphed:
        """Bins as items: scale × the sum of the component weights of the items in each bin.

        Args:
            index: the bin of each item, shape (n_items,).
            n_bins: the number of bins.
            scale: e.g. the luminosity, to turn cross sections into expected events.
        """
        binned = np.stack([np.bincount(index, weights=column, minlength=n_bins) for column in self.component_weights.T],
                          axis=1)
        return Morphed(self.components, scale * binned)


@dataclass(frozen=True, eq=False)
class Morphing:
    """A morphing basis: components, benchmark points and the morphing matrix.

    Build it with :meth:`from_basis`; the constructor takes a stored matrix as is.

    Args:
        components: int array (n_c, p) of monomial exponents.
        basis: (n_c, p) benchmark points.
        matrix: (n_c, n_c) morphing matrix M = A^{-1}, component weights W = M @ benchmark weights.

    Example:
        >>> morphing = Morphing.from_basis(find_components((2,)), [[0.0], [1.0], [-1.0]])
        >>> np.round(morphing.weights([2.0]), 10).tolist()  # w(2) = -3 w(0) + 3 w(1) + w(-1)
        [-3.0, 3.0, 1.0]
    """

    components: np.ndarray
    basis: np.ndarray
    matrix: np.ndarray

    def __post_init__(self) -> None:
        components = np.asarray(self.components, dtype=int)
        basis = np.asarray(self.basis, dtype=float)
        matrix = np.asarray(self.matrix, dtype=float)
        if components.ndim != 2:
            raise ValueError(f"components must have shape (n_components, n_parameters), got {components.shape}")
        n_components, n_parameters = components.shape
        if basis.shape != (n_components, n_parameters):
            raise ValueError(
                f"basis must have shape ({n_components}, {n_parameters}) (one benchmark per component), got {basis.shape}"
            )
        if matrix.shape != (n_components, n_components):
            raise ValueError(f"matrix must have shape ({n_components}, {n_components}), got {matrix.shape}")
        object.__setattr__(self, "components", components)
        object.__setattr__(self, "basis", basis)
        object.__setattr__(self, "matrix", matrix)

    @classmethod
    def from_basis(cls, components, basis) -> Morphing:
        """The morphing for benchmark points ``basis``: M = A^{-1} with A_bc = a_c(θ_b).

        Args:
            components: int array (n_c, p) of exponents, e.g. from :func:`find_components`.
            basis: (n_c, p) benchmark points.

        Returns:
            Morphing: the morphing.

        Raises:
            ValueError: if the shapes do not match, or the basis is singular or
                ill-conditioned (condition number of A above 1e12).

        Example:
            >>> morphing = Morphing.from_basis(find_components((2,)), [[0.0], [1.0], [2.0]])
            >>> np.round(morphing.matrix, 10).tolist()  # rows: constant, linear, quadratic
            [[1.0, 0.0, 0.0], [-1.5, 2.0, -0.5], [0.5, -1.0, 0.5]]
        """
        components = np.asarray(components, dtype=int)
        basis = np.asarray(basis, dtype=float)
        if components.ndim != 2:
            raise ValueError(f"components must have shape (n_components, n_parameters), got {components.shape}")
        if basis.shape != components.shape:
            raise ValueError(
                f"the basis needs one benchmark per component: expected shape {components.shape}, got {basis.shape}"
            )
        if not np.all(np.isfinite(basis)):
            raise ValueError(f"basis contains non-finite values: {basis.tolist()}")
        design = monomials(basis, components)
        condition = np.linalg.cond(design)
        if not np.isfinite(condition) or condition > MAX_CONDITION_NUMBER:
            raise ValueError(_condition_message(float(condition), basis))
        matrix = np.linalg.solve(design, np.eye(len(design)))
        return cls(components=components, basis=basis, matrix=matrix)

    @property
    def n_components(self) -> int:
        return self.components.shape[0]

    @property
    def n_parameters(self) -> int:
        return self.components.shape[1]

    def weights(self, theta) -> np.ndarray:
        """Morphing weights ω_b(θ) = Σ_c a_c(θ) M_cb.

        Args:
            theta: shape (p,) or (n, p).

        Returns:
            np.ndarray: shape (n_b,) or (n, n_b).
        """
        return monomials(theta, self.components) @ self.matrix

    def weight_gradients(self, theta) -> np.ndarray:
        """Gradients ∂ω_b/∂θ_i = Σ_c M_cb ∂a_c/∂θ_i.

        Args:
            theta: shape (p,) or (n, p).

        Returns:
            np.ndarray: shape (n_b, p) or (n, n_b, p).
        """
        return np.einsum("...ci,cb->...bi", monomial_gradients(theta, self.components), self.matrix)

    def component_weights(self, benchmark_weights) -> np.ndarray:
        """Component weights W_c = Σ_b M_cb w_b of each event.

        Args:
            benchmark_weights: shape (n_events, n_b).

        Returns:
            np.ndarray: shape (n_events, n_c).
        """
        return self._check_benchmark_weights(benchmark_weights) @ self.matrix.T

    def morph(self, benchmark_weights) -> Morphed:
        """The events' weights as functions of θ (the evaluator every stage uses).

        Args:
            benchmark_weights: shape (n_events, n_b).
        """
        return Morphed(self.components, self.component_weights(benchmark_weights))

    def event_weights(self, benchmark_weights, theta) -> np.ndarray:
        """Event weights w(θ) = Σ_b ω_b(θ) w_b.

        Args:
            benchmark_weights: shape (n_events, n_b).
            theta: shape (p,) or (m, p).

        Returns:
            np.ndarray: shape (n_events,) for θ of shape (p,), (m, n_events) for (m, p).

        Example:
            >>> morphing = Morphing.from_basis(find_components((2,)), [[0.0], [1.0], [-1.0]])
            >>> theta_b = morphing.basis[:, 0]
            >>> w_b = np.stack([(1 + theta_b) ** 2, (2 - theta_b) ** 2])  # two events
            >>> np.round(morphing.event_weights(w_b, [0.5]), 10).tolist()
            [2.25, 2.25]
        """
        return self.morph(benchmark_weights)(theta)

    def event_weight_gradients(self, benchmark_weights, theta) -> np.ndarray:
        """Gradients ∂w/∂θ_i = Σ_b ∂ω_b/∂θ_i w_b of the event weights.

        Args:
            benchmark_weights: shape (n_events, n_b).
            theta: shape (p,) or (m, p).

        Returns:
            np.ndarray: shape (n_events, p) for θ of shape (p,), (m, n_events, p) for (m, p).
        """
        return self.morph(benchmark_weights).gradient(theta)

    def expected_squared_weights(self, ranges, n_samples: int = 10_000, seed: int = 0) -> float:
        """Monte-Carlo estimate of E[Σ_b ω_b(θ)²] for θ uniform in the ranges.

        Args:
            ranges: shape (p, 2), (low, high) of each parameter.
            n_samples: number of θ drawn.
            seed: seed of the draws.

        Returns:
            float: the mean over the draws of Σ_b ω_b(θ)².

        Example:
            >>> morphing = Morphing.from_basis(find_components((1,)), [[-1.0], [1.0]])
            >>> round(morphing.expected_squared_weights([[-1.0, 1.0]]), 2)  # exact: 2/3
            0.67
        """
        ranges = _as_ranges(ranges, self.n_parameters)
        rng = np.random.default_rng(seed)
        theta = ranges[:, 0] + (ranges[:, 1] - ranges[:, 0]) * rng.random((int(n_samples), self.n_parameters))
        return float(np.mean(np.sum(self.weights(theta) ** 2, axis=-1)))

    def _check_benchmark_weights(self, benchmark_weights) -> np.ndarray:
        benchmark_weights = np.asarray(benchmark_weights, dtype=float)
        if benchmark_weights.ndim != 2 or benchmark_weights.shape[1] != self.n_components:
            raise ValueError(
                f"benchmark_weights must have shape (n_events, {self.n_components}), got {benchmark_weights.shape}"
            )
        return benchmark_weights


def _exact_expected_squared_weights(components: np.ndarray, basis: np.ndarray, ranges) -> float:
    """E[Σ_b ω_b(θ)²] = tr(M^T S M) in closed form for θ uniform in the ranges."""
    components = np.asarray(components, dtype=int)
    matrix = np.linalg.inv(monomials(np.asarray(basis, dtype=float), components))
    second_moments = _second_moments(components, _as_ranges(ranges, components.shape[1]))
    return float(np.trace(matrix.T @ second_moments @ matrix))


def _batched_objective(designs: np.ndarray, moment_root: np.ndarray) -> np.ndarray:
    """tr(A^{-T} S A^{-1}) for a stack of morphing matrices A, shape (n,); inf where ill-conditioned.

    With A = U diag(s) V^T and S = L L^T, ||L^T A^{-1}||_F² = Σ_ij (L^T V)_ij² / s_j².
    """
    _, singular_values, vh = np.linalg.svd(designs)
    projected = np.einsum("ci,nji->ncj", moment_root.T, vh)  # L^T V
    smallest = singular_values[:, -1]
    good = (smallest > 0) & (singular_values[:, 0] <= MAX_CONDITION_NUMBER * smallest)
    safe = np.where(good[:, None], singular_values, 1.0)
    values = np.sum(projected**2 / safe[:, None, :] ** 2, axis=(1, 2))
    return np.where(good, values, np.inf)


def _log_objective_and_gradient(
    free: np.ndarray, fixed: np.ndarray, components: np.ndarray, second_moments: np.ndarray
) -> tuple[float, np.ndarray]:
    """log tr(M^T S M) and its gradient with respect to the free benchmark coordinates.

    With M = A^{-1}: d tr(M^T S M) = -2 tr(M M^T S M dA), and dA_bc = ∂a_c(θ_b)/∂θ_b,i.
    """
    n_parameters = components.shape[1]
    basis = np.concatenate([fixed, free.reshape(-1, n_parameters)])
    design = monomials(basis, components)
    singular_values = np.linalg.svd(design, compute_uv=False)
    if not singular_values[-1] > 0 or singular_values[0] > MAX_CONDITION_NUMBER * singular_values[-1]:
        return 1e3, np.zeros_like(free)
    matrix = np.linalg.inv(design)
    s_matrix = second_moments @ matrix
    value = float(np.sum(matrix * s_matrix))  # tr(M^T S M)
    gradient_design = -2.0 * (matrix @ matrix.T @ s_matrix).T  # ∂f/∂A
    gradient = np.einsum("bc,bci->bi", gradient_design, monomial_gradients(basis, components))
    return np.log(value), gradient[len(fixed) :].ravel() / value


def optimize_basis(
    components,
    ranges,
    fixed: np.ndarray | None = None,
    n_trials: int = 2000,
    seed: int = 0,
) -> np.ndarray:
    """A benchmark basis that keeps the morphing weights small over the parameter ranges.

    Minimises E_θ[Σ_b ω_b(θ)²] for θ uniform in the ranges (computed exactly as
    tr(M^T S M) with the second moments S of the monomials). The points in
    ``fixed`` are kept as the first benchmarks; the others are found by a random
    search over ``n_trials`` candidate sets drawn uniformly in the ranges
    (evaluated in batches with a batched SVD), followed by a bounded gradient
    refinement (L-BFGS-B with the analytic gradient) of the best few candidates.
    All benchmarks stay inside the ranges. The result is deterministic for a seed.

    Args:
        components: int array (n_c, p) of exponents.
        ranges: shape (p, 2), (low, high) of each parameter.
        fixed: shape (k, p), benchmarks to keep (e.g. the Standard Model), or None.
        n_trials: number of random candidate sets.
        seed: seed of the random search.

    Returns:
        np.ndarray: the basis, shape (n_c, p), starting with the rows of ``fixed``.

    Raises:
        ValueError: for inconsistent shapes, too many fixed points, or when no
            candidate gives a well-conditioned basis.

    Example:
        >>> components = find_components((2, 2))
        >>> basis = optimize_basis(components, [[-1, 1], [-1, 1]], fixed=np.zeros((1, 2)), n_trials=200)
        >>> basis.shape, basis[0].tolist()
        ((6, 2), [0.0, 0.0])
        >>> Morphing.from_basis(components, basis).expected_squared_weights([[-1, 1], [-1, 1]]) < 3
        True
    """
    components = np.asarray(components, dtype=int)
    if components.ndim != 2:
        raise ValueError(f"components must have shape (n_components, n_parameters), got {components.shape}")
    n_components, n_parameters = components.shape
    ranges = _as_ranges(ranges, n_parameters)
    fixed = np.zeros((0, n_parameters)) if fixed is None else np.asarray(fixed, dtype=float).reshape(-1, n_parameters)
    n_free = n_components - len(fixed)
    if n_free < 0:
        raise ValueError(f"{len(fixed)} fixed benchmarks but only {n_components} components")
    if n_free == 0:
        Morphing.from_basis(components, fixed)  # raises if the fixed basis is unusable
        return fixed.copy()
    if n_trials < 1:
        raise ValueError(f"n_trials must be at least 1, got {n_trials}")

    second_moments = _second_moments(components, ranges)
    moment_root = _moment_root(second_moments)
    low, high = ranges[:, 0], ranges[:, 1]
    rng = np.random.default_rng(seed)
    candidates = low + (high - low) * rng.random((n_trials, n_free, n_parameters))

    fixed_design = monomials(fixed, components)
    objective = np.empty(n_trials)
    chunk = max(1, 2**20 // n_components**2)
    for start in range(0, n_trials, chunk):
        free_design = monomials(candidates[start : start + chunk], components)
        fixed_part = np.broadcast_to(fixed_design, (len(free_design), *fixed_design.shape))
        objective[start : start + chunk] = _batched_objective(
            np.concatenate([fixed_part, free_design], axis=1), moment_root
        )
    if not np.any(np.isfinite(objective)):
        raise ValueError(
            f"no well-conditioned basis among {n_trials} random candidates; check the fixed points {fixed.tolist()} "
            "and the ranges"
        )

    bounds = [(lo, hi) for _ in range(n_free) for lo, hi in ranges]
    best_value, best_free = np.log(objective.min()), candidates[np.argmin(objective)].ravel()
    for index in np.argsort(objective)[: min(_N_REFINE, n_trials)]:
        if not np.isfinite(objective[index]):
            break
        result = scipy.optimize.minimize(
            _log_objective_and_gradient,
            candidates[index].ravel(),
            args=(fixed, components, second_moments),
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": 1000},
        )
        if np.isfinite(result.fun) and result.fun < best_value:
            best_value = float(result.fun)
            best_free = np.clip(result.x.reshape(n_free, n_parameters), low, high).ravel()
    return np.concatenate([fixed, best_free.reshape(n_free, n_parameters)])


#: Number of best random candidates refined locally by :func:`optimize_basis`.
_N_REFINE = 5
