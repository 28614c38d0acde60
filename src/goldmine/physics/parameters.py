"""The parameter space of an analysis: parameters, their ranges, benchmarks and morphing.

A :class:`ParameterSpace` is what every stage after generation needs to turn the
per-benchmark weights of an event into its weight, and its gradient, at any θ (morphing), or,
where |M|² is not polynomial in θ, at a reference point (finite differences).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from goldmine.exceptions import ConfigError
from goldmine.physics.finite_differences import (
    DEFAULT_EPSILON,
    Differenced,
    FiniteDifferences,
    finite_difference_benchmarks,
)
from goldmine.physics.morphing import Morphed, Morphing, find_components, optimize_basis

__all__ = ["ParameterSpace", "build_finite_difference_space", "build_parameter_space"]

SM_BENCHMARK = "sm"


@dataclass(frozen=True)
class ParameterSpace:
    """Parameters, benchmarks and how weights follow θ: morphing, or finite differences.

    Args:
        names: parameter names.
        ranges: shape (n_parameters, 2), the range each parameter is explored in.
        max_powers: the highest power of each parameter in the squared matrix element.
        benchmark_names: one name per benchmark; "sm" is the Standard Model.
        benchmarks: shape (n_benchmarks, n_parameters), the benchmark points.
        morphing: the morphing from the benchmark weights to any θ; None where the weights do not morph.
        finite_differences: the finite-difference benchmarks (the gradient at their reference);
            None where there are none.
    """

    names: tuple[str, ...]
    ranges: np.ndarray
    max_powers: tuple[int, ...]
    benchmark_names: tuple[str, ...]
    benchmarks: np.ndarray
    morphing: Morphing | None
    finite_differences: FiniteDifferences | None = None

    @property
    def n_parameters(self) -> int:
        return len(self.names)

    @property
    def morphs(self) -> bool:
        """Whether weights are known at every θ (morphing), not at the benchmarks only."""
        return self.morphing is not None

    def require_morphing(self, task: str) -> Morphing:
        """The morphing, for a task that needs weights at every θ.

        Raises:
            ConfigError: naming the task and the parameters, where the weights do not morph.
        """
        if self.morphing is None:
            reference = self.benchmark(self.finite_differences.reference).tolist()
            raise ConfigError(
                f"{task} needs the weights at every θ (morphing), but the parameters {list(self.names)} do not "
                f"morph: only their score at the reference point {reference} is known (finite differences): use "
                f"the truth Fisher information (goldmine fisher) and the local-score methods sally and sallino"
            )
        return self.morphing

    def weights_known_at(self, points: np.ndarray, task: str) -> None:
        """Check that weights are known at every θ of ``points`` (shape (k, p)): anywhere with
        morphing, at the benchmarks only without.

        Raises:
            ConfigError: as :meth:`require_morphing`, where some point is no benchmark.
        """
        if self.morphing is not None:
            return
        points = np.asarray(points, dtype=float)
        close = np.all(np.isclose(points[:, None, :], self.benchmarks[None], rtol=1e-12, atol=1e-12), axis=-1)
        if not close.any(axis=1).all():
            self.require_morphing(f"{task} (without 'finite_differences.grid': true, whose benchmarks are the grid)")

    def evaluator(self, benchmark_weights: np.ndarray) -> Morphed | Differenced:
        """Weights, cross sections and their gradients of items (events, bins) from their benchmark
        weights (n_items, n_benchmarks): morphed to any θ, or finite-differenced at the reference."""
        if self.morphing is not None:
            return self.morphing.morph(benchmark_weights)
        steps = self.finite_differences
        return Differenced(self.benchmarks, np.asarray(benchmark_weights, dtype=float),
                           self.benchmark_names.index(steps.reference), steps.gradient_matrix(self.benchmark_names))

    def benchmark(self, name: str) -> np.ndarray:
        """The parameter point of a named benchmark.

        Raises:
            KeyError: naming the benchmark and the ones that exist.
        """
        try:
            return self.benchmarks[self.benchmark_names.index(name)]
        except ValueError:
            raise KeyError(f"benchmark {name!r} does not exist; benchmarks are {list(self.benchmark_names)}") from None

    def weights(self, benchmark_weights: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """Event weights at θ from the per-benchmark weights, shape (n_events,) or (m, n_events)."""
        if self.morphing is not None:
            return self.morphing.event_weights(benchmark_weights, theta)
        return self.evaluator(benchmark_weights)(theta)

    def weight_gradients(self, benchmark_weights: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """∂w/∂θ of each event at θ, shape (n_events, n_parameters)."""
        if self.morphing is not None:
            return self.morphing.event_weight_gradients(benchmark_weights, theta)
        return self.evaluator(benchmark_weights).gradient(theta)

    def grid(self, points_per_parameter: int) -> np.ndarray:
        """A regular grid over the ranges, shape (points**n_parameters, n_parameters), last axis fastest."""
        return _regular_grid(self.ranges, points_per_parameter)

    def sample_uniform(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """θ drawn uniformly in the ranges, shape (n, n_parameters)."""
        low, high = self.ranges[:, 0], self.ranges[:, 1]
        return low + (high - low) * rng.random((n, self.n_parameters))


def _regular_grid(ranges: np.ndarray, points_per_parameter: int) -> np.ndarray:
    axes = [np.linspace(low, high, points_per_parameter) for low, high in ranges]
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, len(ranges))


def build_parameter_space(
    names: tuple[str, ...],
    ranges: Mapping[str, Any] | np.ndarray,
    max_powers: tuple[int, ...],
    max_overall_power: int,
    n_trials: int = 2000,
    seed: int = 1,
) -> ParameterSpace:
    """Choose the benchmark basis (SM first) that keeps morphing weights small over the ranges.

    Args:
        names: parameter names.
        ranges: name → (low, high), or an array of shape (n_parameters, 2).
        max_powers: highest power of each parameter in |M|².
        max_overall_power: highest total degree of the monomials.
        n_trials: candidate bases tried by the optimiser.
        seed: seed of the optimiser.

    Returns:
        ParameterSpace: with benchmarks named "sm", "b1", "b2", ….

    Example:
        >>> space = build_parameter_space(("a", "b"), {"a": (-1, 1), "b": (-1, 1)}, (2, 2), 2, n_trials=50)
        >>> space.benchmark_names
        ('sm', 'b1', 'b2', 'b3', 'b4', 'b5')
    """
    if isinstance(ranges, Mapping):
        ranges = np.array([ranges[name] for name in names], dtype=float)
    ranges = np.asarray(ranges, dtype=float)
    components = find_components(max_powers, max_overall_power)
    sm = np.zeros((1, len(names)))
    basis = optimize_basis(components, ranges, fixed=sm, n_trials=n_trials, seed=seed)
    morphing = Morphing.from_basis(components, basis)
    benchmark_names = (SM_BENCHMARK,) + tuple(f"b{i}" for i in range(1, len(basis)))
    return ParameterSpace(
        names=tuple(names),
        ranges=ranges,
        max_powers=tuple(max_powers),
        benchmark_names=benchmark_names,
        benchmarks=basis,
        morphing=morphing,
    )


def build_finite_difference_space(
    names: tuple[str, ...],
    ranges: Mapping[str, Any] | np.ndarray,
    reference_point: tuple[float, ...],
    epsilon: float = DEFAULT_EPSILON,
    grid_points: int = 0,
) -> ParameterSpace:
    """The setup of parameters that do not morph: the reference benchmark "sm" at
    ``reference_point`` and the finite-difference benchmarks θ_ref ± ε e_i.

    Args:
        names: parameter names.
        ranges: name → (low, high), or an array of shape (n_parameters, 2).
        reference_point: θ_ref (the Standard Model), where scores and Fisher information are taken.
        epsilon: the finite-difference step (default :data:`~goldmine.physics.finite_differences.DEFAULT_EPSILON`).
        grid_points: with k > 0, also a benchmark at every point of the regular grid of k points
            per parameter over the ranges (:meth:`ParameterSpace.grid`, the inference grid).

    Returns:
        ParameterSpace: without morphing, with benchmarks "sm", "sm_plus_<name>", …, "sm_minus_<name>", …
        (and "grid_0", … with ``grid_points``).

    Example:
        >>> space = build_finite_difference_space(("s",), {"s": (0.2, 0.3)}, (0.25,), 0.001)
        >>> space.benchmark_names, space.morphs
        (('sm', 'sm_plus_s', 'sm_minus_s'), False)
        >>> space.weight_gradients(np.array([[1.0, 1.003, 0.997]]), [0.25]).round(9).tolist()
        [[3.0]]
    """
    if isinstance(ranges, Mapping):
        ranges = np.array([ranges[name] for name in names], dtype=float)
    ranges = np.asarray(ranges, dtype=float)
    grid = _regular_grid(ranges, grid_points) if grid_points else None
    benchmark_names, benchmarks, steps = finite_difference_benchmarks(names, reference_point, epsilon, SM_BENCHMARK,
                                                                      grid)
    return ParameterSpace(
        names=tuple(names),
        ranges=ranges,
        max_powers=(2,) * len(names),  # MadMiner's default; nothing reads it without morphing
        benchmark_names=benchmark_names,
        benchmarks=benchmarks,
        morphing=None,
        finite_differences=steps,
    )
