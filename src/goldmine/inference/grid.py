"""The θ grid that limits are scanned on, and a scan that spends its work where q is small.

q(θ) matters only where it is small: the profiled intervals and the contours are read off
at q ≤ 5.99 (2-D 95% CL). :func:`refined_scan` evaluates an expensive q exactly on a
coarse sub-grid, then on every grid point whose estimate is below a cutoff, then on the
neighbours of every exact point below the cutoff until none is left: the exact region is
closed, so every contour and interval crossing below the cutoff is computed from exact
values on both sides. Elsewhere q is the linear interpolation of the coarse sub-grid (at
least the cutoff), which is plenty for a plot.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.interpolate import RegularGridInterpolator
from scipy.ndimage import binary_dilation

if TYPE_CHECKING:
    from goldmine.physics.parameters import ParameterSpace

__all__ = ["Grid", "analysis_grid", "refined_scan"]


@dataclass(frozen=True, eq=False)
class Grid:
    """A regular grid over the parameter ranges and the reference (Asimov) point.

    Args:
        names: parameter names.
        axes: the values of each parameter.
        reference: θ_ref, shape (p,).

    Example:
        >>> grid = Grid(("a", "b"), (np.linspace(-1, 1, 3), np.linspace(0, 1, 2)), np.zeros(2))
        >>> grid.shape, grid.points[-1].tolist()
        ((3, 2), [1.0, 1.0])
    """

    names: tuple[str, ...]
    axes: tuple[np.ndarray, ...]
    reference: np.ndarray

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(axis) for axis in self.axes)

    @property
    def points(self) -> np.ndarray:
        """All grid points, shape (n_points, p), last axis fastest."""
        return np.stack(np.meshgrid(*self.axes, indexing="ij"), axis=-1).reshape(-1, len(self.axes))


def analysis_grid(config: Mapping[str, Any], space: ParameterSpace) -> Grid:
    """The grid of ``goldmine infer`` and of its toys: ``inference.grid_points`` per parameter
    over its range, the reference benchmark as θ_ref."""
    return Grid(space.names, tuple(np.linspace(low, high, config["inference"]["grid_points"])
                                   for low, high in space.ranges),
                space.benchmark(config["mining"]["reference_benchmark"]))


def refined_scan(evaluate: Callable[[np.ndarray], np.ndarray], grid: Grid, exact_below: float,
                 coarse_step: int = 4) -> np.ndarray:
    """q on the grid, exact wherever q − min q < ``exact_below``.

    Args:
        evaluate: flat grid indices, shape (k,) → q at those points, shape (k,).
        grid: the grid.
        exact_below: the cutoff; choose it above the largest threshold read off q.
        coarse_step: grid spacing of the first, coarse pass.

    Returns:
        q on the grid, shape ``grid.shape``, its minimum subtracted.

    Example:
        >>> grid = Grid(("a",), (np.linspace(-2, 2, 41),), np.zeros(1))
        >>> calls = []
        >>> q = refined_scan(lambda i: calls.append(len(i)) or grid.points[i, 0] ** 2, grid, exact_below=1.0)
        >>> bool(np.allclose(q[np.abs(grid.axes[0]) <= 1.0], grid.axes[0][np.abs(grid.axes[0]) <= 1.0] ** 2))
        True
        >>> sum(calls) < 41
        True
    """
    shape = grid.shape
    values = np.full(shape, np.nan)
    coarse_axes = [np.unique(np.r_[0:n:coarse_step, n - 1]) for n in shape]
    coarse = np.ix_(*coarse_axes)
    flat = np.arange(values.size).reshape(shape)
    values[coarse] = evaluate(flat[coarse].ravel()).reshape([len(a) for a in coarse_axes])
    if values.size == values[coarse].size:
        return values - values.min()
    estimate = RegularGridInterpolator([axis[a] for axis, a in zip(grid.axes, coarse_axes)], values[coarse])(
        grid.points).reshape(shape)
    todo = np.isnan(values) & (estimate - np.nanmin(values) < exact_below)
    while np.any(todo):
        values[todo] = evaluate(flat[todo])
        low = values - np.nanmin(values) < exact_below  # NaN compares False
        todo = binary_dilation(low, structure=np.ones((3,) * len(shape), dtype=bool)) & np.isnan(values)
    minimum = np.nanmin(values)
    values = np.where(np.isnan(values), np.maximum(estimate, minimum + exact_below), values)
    return values - minimum
