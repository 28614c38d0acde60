r"""Finite differences: the joint score at a reference point where the weights do not morph.

When |M|² is not a polynomial in θ (sin²θ_W in ``ee_mumu``), benchmark weights fix the weight
only at the benchmarks themselves. The setup then has a reference benchmark θ_ref and, per
parameter i, the shifted benchmarks θ_ref ± ε e_i; their weights give the weight gradient at
θ_ref by the central difference

.. math::

    \partial_i w(z|\theta_\mathrm{ref}) = \frac{w(z|\theta_\mathrm{ref} + \epsilon e_i)
        - w(z|\theta_\mathrm{ref} - \epsilon e_i)}{2\epsilon} + O(\epsilon^2),

and so the joint score t(x,z|θ_ref), the truth Fisher information and SALLY's training
sample at θ_ref. Nothing is known between the benchmarks: the likelihood ratio at other θ
(the ratio, density and morphing-aware methods) needs morphing. A setup may add one benchmark
per point of the inference grid (``finite_differences.grid``): the weights are then known on
the grid, and the rate, the exact likelihood and binned likelihoods (histograms of the
observables, SALLY) scan q(θ) over it, measurement from data included.

MadMiner 0.9.6 records the same idea in its event file as ``finite_differences/``
(``base_benchmarks``, ``shifted_benchmarks``: the θ_ref + ε e_i benchmark of each parameter,
``epsilon``) and takes the forward difference, O(ε). goldmine writes that group and, its own,
``goldmine_backward_benchmarks`` (θ_ref − ε e_i) for the central difference; a file without
them (one MadMiner wrote) gets MadMiner's forward difference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from goldmine.exceptions import ConfigError

__all__ = ["DEFAULT_EPSILON", "Differenced", "FiniteDifferences", "finite_difference_benchmarks"]

#: the default step ε (the config's ``finite_differences.epsilon``): the central difference's
#: truncation error, ε²/6 · ∂³w/∂θ³, is 2·10⁻⁶ of the largest score for sin²θ_W at 91.2 and
#: 200 GeV (tests/test_finite_differences.py), while rounding in the weights, 10⁻¹⁶/ε, stays negligible.
DEFAULT_EPSILON = 1e-4


@dataclass(frozen=True)
class FiniteDifferences:
    """The finite-difference benchmarks of a setup.

    Args:
        reference: the benchmark the gradient is taken at (MadMiner's base benchmark).
        epsilon: the step ε.
        forward: per parameter, the benchmark at θ_ref + ε e_i.
        backward: per parameter, the benchmark at θ_ref − ε e_i; empty for forward differences.
    """

    reference: str
    epsilon: float
    forward: tuple[str, ...]
    backward: tuple[str, ...] = ()

    def gradient_matrix(self, benchmark_names: Sequence[str]) -> np.ndarray:
        """G with ∂w/∂θ_i (θ_ref) = Σ_b G_ib w_b, shape (n_parameters, n_benchmarks).

        Example:
            >>> steps = FiniteDifferences("sm", 0.5, ("sm_plus_a",), ("sm_minus_a",))
            >>> steps.gradient_matrix(["sm", "sm_plus_a", "sm_minus_a"]).tolist()
            [[0.0, 1.0, -1.0]]
            >>> FiniteDifferences("sm", 0.5, ("sm_plus_a",)).gradient_matrix(["sm", "sm_plus_a"]).tolist()
            [[-2.0, 2.0]]
        """
        names = list(benchmark_names)
        matrix = np.zeros((len(self.forward), len(names)))
        for i, forward in enumerate(self.forward):
            if self.backward:
                matrix[i, names.index(forward)] += 0.5 / self.epsilon
                matrix[i, names.index(self.backward[i])] -= 0.5 / self.epsilon
            else:
                matrix[i, names.index(forward)] += 1.0 / self.epsilon
                matrix[i, names.index(self.reference)] -= 1.0 / self.epsilon
        return matrix


def finite_difference_benchmarks(names: Sequence[str], reference_point: Sequence[float], epsilon: float,
                                 reference: str = "sm", grid: np.ndarray | None = None
                                 ) -> tuple[tuple[str, ...], np.ndarray, FiniteDifferences]:
    """The reference benchmark and the shifted benchmarks θ_ref ± ε e_i, named as MadMiner names them,
    and optionally one benchmark per point of a θ grid (``grid_<k>``).

    Args:
        names: parameter names.
        reference_point: θ_ref, shape (n_parameters,).
        epsilon: the step ε > 0.
        reference: the reference benchmark's name.
        grid: θ points, shape (k, n_parameters), where the weights are wanted too: the inference
            grid, so that q(θ) of the rate, the exact likelihood and binned likelihoods can be
            scanned over it without morphing.

    Returns:
        (benchmark names, benchmark points of shape (1 + 2 n_parameters + k, n_parameters), the finite differences).

    Example:
        >>> names, points, steps = finite_difference_benchmarks(["s"], [0.25], 0.01)
        >>> names, points.ravel().tolist(), steps.forward, steps.backward
        (('sm', 'sm_plus_s', 'sm_minus_s'), [0.25, 0.26, 0.24], ('sm_plus_s',), ('sm_minus_s',))
        >>> finite_difference_benchmarks(["s"], [0.25], 0.01, grid=np.array([[0.2], [0.3]]))[0]
        ('sm', 'sm_plus_s', 'sm_minus_s', 'grid_0', 'grid_1')
    """
    if not epsilon > 0:
        raise ConfigError(f"the finite-difference step must be positive, got {epsilon}")
    reference_point = np.asarray(reference_point, dtype=float)
    forward = tuple(f"{reference}_plus_{name}" for name in names)
    backward = tuple(f"{reference}_minus_{name}" for name in names)
    shifts = epsilon * np.eye(len(names))
    grid = np.zeros((0, len(names))) if grid is None else np.asarray(grid, dtype=float).reshape(-1, len(names))
    points = np.vstack([reference_point, reference_point + shifts, reference_point - shifts, grid])
    grid_names = tuple(f"grid_{k}" for k in range(len(grid)))
    return ((reference, *forward, *backward, *grid_names), points,
            FiniteDifferences(reference, float(epsilon), forward, backward))


@dataclass(frozen=True, eq=False)
class Differenced:
    """Items (events, bins) whose weights are known at the benchmarks only, with gradients at the
    reference: the finite-difference counterpart of :class:`~goldmine.physics.morphing.Morphed`,
    with the same calls, each at a benchmark point (gradients at the reference only).

    Args:
        benchmarks: the benchmark points, shape (n_benchmarks, p).
        benchmark_weights: shape (n_items, n_benchmarks).
        reference: index of the reference benchmark.
        gradient_matrix: G of :meth:`FiniteDifferences.gradient_matrix`, shape (p, n_benchmarks).

    Example:
        >>> items = Differenced(np.array([[0.0], [0.1], [-0.1]]), np.array([[1.0, 1.25, 0.75]]), 0,
        ...                     np.array([[0.0, 4.0, -4.0]]))
        >>> items([0.0]).tolist(), items([0.1]).tolist(), items.gradient([0.0]).tolist()
        ([1.0], [1.25], [[2.0]])
        >>> items([0.05])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        goldmine.exceptions.ConfigError: theta=[0.05] is not a benchmark; these weights do not morph ...
    """

    benchmarks: np.ndarray
    benchmark_weights: np.ndarray
    reference: int
    gradient_matrix: np.ndarray

    def __len__(self) -> int:
        return len(self.benchmark_weights)

    def _index(self, theta) -> np.ndarray:
        theta = np.asarray(theta, dtype=float)
        points = np.atleast_2d(theta)
        # Exact up to rounding: θ read back from a file or from JSON is the benchmark itself.
        close = np.all(np.isclose(points[:, None, :], self.benchmarks[None], rtol=1e-12, atol=1e-12), axis=-1)
        missing = ~close.any(axis=1)
        if missing.any():
            raise ConfigError(f"theta={points[missing][0].tolist()} is not a benchmark; these weights do not morph "
                              f"and are known at the benchmarks {self.benchmarks.tolist()} only")
        index = np.argmax(close, axis=1)
        return index[0] if theta.ndim == 1 else index

    def _check_reference(self, theta) -> None:
        if np.any(np.atleast_1d(self._index(theta)) != self.reference):
            raise ConfigError(f"theta={np.asarray(theta).tolist()}: without morphing the gradient (the score) is "
                              f"known at the reference point {self.benchmarks[self.reference].tolist()} only")

    def __call__(self, theta) -> np.ndarray:
        """w_i(θ) at benchmark points: shape (n_items,) for θ of shape (p,), (m, n_items) for (m, p)."""
        return self.benchmark_weights[:, self._index(theta)].T

    def gradient(self, theta) -> np.ndarray:
        """∂w_i/∂θ at the reference, shape (n_items, p)."""
        self._check_reference(theta)
        return self.benchmark_weights @ self.gradient_matrix.T

    def total(self, theta) -> np.ndarray:
        """Σ_i w_i(θ) at benchmark points, scalar or shape (m,)."""
        return self.benchmark_weights.sum(axis=0)[self._index(theta)]

    def total_gradient(self, theta) -> np.ndarray:
        """∇_θ Σ_i w_i at the reference, shape (p,)."""
        self._check_reference(theta)
        return self.gradient_matrix @ self.benchmark_weights.sum(axis=0)

    def take(self, indices) -> Differenced:
        """The items at ``indices``."""
        return Differenced(self.benchmarks, self.benchmark_weights[indices], self.reference, self.gradient_matrix)

    def binned(self, index: np.ndarray, n_bins: int, scale: float = 1.0) -> Differenced:
        """Bins as items: scale × the sum of the benchmark weights of the items in each bin (as
        :meth:`goldmine.physics.morphing.Morphed.binned`).

        Example:
            >>> items = Differenced(np.array([[0.0], [0.1]]), np.array([[1.0, 2.0], [3.0, 4.0]]), 0, np.zeros((1, 2)))
            >>> items.binned(np.array([1, 1]), 2, 10.0)([0.1]).tolist()
            [0.0, 60.0]
        """
        binned = np.stack([np.bincount(index, weights=column, minlength=n_bins) for column in self.benchmark_weights.T],
                          axis=1)
        return Differenced(self.benchmarks, scale * binned, self.reference, self.gradient_matrix)
