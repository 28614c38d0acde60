"""The θ grid that limits are scanned on, and a scan that spends its work where q is small.

q(θ) matters only where it is small: the profiled intervals and the contours are read off
at q ≤ 5.99 (2-D 95% CL). :func:`refined_scan` evaluates an expensive q exactly on a coarse
sub-grid and interpolates it with a cubic spline, checked against exact values at the
centres of the coarse cells where q is small. q of a learned likelihood ratio is smooth in θ
(a mean over many events), so the check usually passes: a ratio's scan costs about 45
evaluations on a 41 × 41 grid instead of about 250. Where it fails on the coarsest sub-grid
the scan tries a finer one; where it fails there too, it evaluates every grid point whose
estimate is below a cutoff and the neighbours of every exact point below it, until the exact
region is closed: every contour and interval crossing below the cutoff then
comes from exact values on both sides.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from scipy.interpolate import RegularGridInterpolator
from scipy.ndimage import binary_dilation

if TYPE_CHECKING:
    from goldmine.physics.parameters import ParameterSpace

__all__ = ["INTERPOLATION_TOLERANCE", "Grid", "Scan", "analysis_grid", "refined_scan"]

#: the largest |Δq| :func:`refined_scan` lets its interpolation make at a check point.
INTERPOLATION_TOLERANCE = 0.01


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


class Scan(NamedTuple):
    """The result of :func:`refined_scan`.

    Attributes:
        q: q on the grid, shape ``grid.shape``, its minimum subtracted.
        exact_below: q is exact wherever it is below this (None: the checked interpolation was kept).
        interpolation_error: the largest |exact − interpolated q| at the check points below the
            cutoff (None: nothing was checked, the grid was evaluated where it matters).
    """

    q: np.ndarray
    exact_below: float | None
    interpolation_error: float | None


def _coarse_indices(n: int, step: int) -> np.ndarray:
    """About every ``step``-th of ``n`` indices, evenly spread, both ends included, at least 4 (for a cubic)."""
    return np.unique(np.round(np.linspace(0, n - 1, min(n, max(4, -(-(n - 1) // step) + 1)))).astype(int))


def refined_scan(evaluate: Callable[[np.ndarray], np.ndarray], grid: Grid, exact_below: float,
                 coarse_steps: tuple[int, ...] = (8, 4), tolerance: float = INTERPOLATION_TOLERANCE) -> Scan:
    """q on the grid from as few evaluations as its smoothness allows, exact where it is not smooth enough.

    q is evaluated on a coarse sub-grid (about every ``coarse_steps[0]``-th point per axis) and,
    where the coarse points below ``exact_below`` span at least a cell along every axis,
    interpolated by a cubic spline. The spline is checked where it is worst, at the centres of
    the coarse cells, in every cell with a corner or its estimate below ``exact_below``: when
    every check agrees within ``tolerance`` the interpolation is kept. Otherwise the same is tried on the next,
    finer sub-grid, and after the last one every grid point whose estimate is below the cutoff
    is evaluated, then the neighbours of every exact point below it until none is left: every
    contour and interval crossing below the cutoff then comes from exact values on both sides,
    and above it q stays the (at least cutoff-valued) interpolation.

    Args:
        evaluate: flat grid indices, shape (k,) → q at those points, shape (k,).
        grid: the grid.
        exact_below: the cutoff; choose it above the largest threshold read off q.
        coarse_steps: grid spacings of the coarse sub-grids, coarsest first.
        tolerance: the largest |Δq| the interpolation may make at a check point. An interval end
            moves by δθ = Δq / |dq/dθ|: 0.01 is at most 0.5% of a 68% CL half-width.

    Returns:
        the :class:`Scan`.

    Example:
        >>> grid = Grid(("a",), (np.linspace(-2, 2, 41),), np.zeros(1))
        >>> calls = []
        >>> scan = refined_scan(lambda i: calls.append(len(i)) or grid.points[i, 0] ** 2, grid, exact_below=1.0)
        >>> bool(np.allclose(scan.q, grid.axes[0] ** 2)), scan.exact_below, sum(calls) < 15
        (True, None, True)
    """
    shape = grid.shape
    values = np.full(shape, np.nan)
    flat = np.arange(values.size).reshape(shape)

    def fill(where: np.ndarray) -> None:
        where = where & np.isnan(values)
        if np.any(where):
            values[where] = evaluate(flat[where])

    def region(coarse_points: list[np.ndarray], coarse_values: np.ndarray) -> np.ndarray:
        # from a linear interpolation, which unlike a spline invents no minimum between the coarse points
        linear = RegularGridInterpolator(coarse_points, coarse_values)(grid.points).reshape(shape)
        return linear - np.nanmin(values) < exact_below

    coarse_points: list[np.ndarray] = []
    coarse_values = np.empty(0)
    for step in coarse_steps:
        coarse_axes = [_coarse_indices(n, step) for n in shape]
        coarse = np.zeros(shape, dtype=bool)
        coarse[np.ix_(*coarse_axes)] = True
        if coarse_points:
            # q narrower than the last sub-grid could describe: refine its region directly when that is cheaper
            todo = binary_dilation(region(coarse_points, coarse_values), structure=np.ones((3,) * len(shape),
                                                                                          dtype=bool))
            if np.count_nonzero(todo & np.isnan(values)) < np.count_nonzero(coarse & np.isnan(values)):
                break
        fill(coarse)
        if np.all(coarse):
            return Scan(values - values.min(), exact_below, None)
        coarse_values = values[np.ix_(*coarse_axes)]
        coarse_points = [axis[a] for axis, a in zip(grid.axes, coarse_axes)]
        below = coarse_values - np.nanmin(values) < exact_below
        # the spline can describe the minimum only if the coarse points below the cutoff span at
        # least a cell along every axis; a narrower q goes to the next sub-grid
        if all(len(a) >= 4 for a in coarse_axes) and all(
                np.count_nonzero(np.any(below, axis=tuple(k for k in range(below.ndim) if k != axis))) >= 2
                for axis in range(below.ndim)):
            estimate = RegularGridInterpolator(coarse_points, coarse_values, method="cubic")(
                grid.points).reshape(shape)
            # every cell with a corner below the cutoff, or whose spline dips below it, is checked at its centre
            touched = np.zeros([len(a) - 1 for a in coarse_axes], dtype=bool)
            for corner in itertools.product((slice(None, -1), slice(1, None)), repeat=below.ndim):
                touched |= below[corner]
            checks = np.zeros(shape, dtype=bool)
            centres = np.ix_(*[(a[:-1] + a[1:]) // 2 for a in coarse_axes])
            checks[centres] = touched | (estimate[centres] - np.nanmin(values) < exact_below)
            checks &= ~coarse
            fill(checks)
            error = float(np.max(np.abs(values[checks] - estimate[checks]), initial=0.0))
            if error <= tolerance:
                q = np.where(coarse | checks, values, estimate)
                return Scan(q - q.min(), None, error)
    todo = region(coarse_points, coarse_values)
    # a q narrower than the coarse cells can have its minimum between them: the grid point nearest θ_ref,
    # where the Asimov data put the minimum, seeds the region too
    todo[tuple(int(np.argmin(np.abs(axis - value))) for axis, value in zip(grid.axes, grid.reference))] = True
    # the values left above the cutoff: the spline where there is one
    estimate = RegularGridInterpolator(coarse_points, coarse_values, method="cubic" if all(
        len(a) >= 4 for a in coarse_axes) else "linear")(grid.points).reshape(shape)
    while np.any(todo & np.isnan(values)):
        fill(todo)
        low = values - np.nanmin(values) < exact_below  # NaN compares False
        # two rings: the cubic crossing of an interval end also reads the points beyond the cell
        todo = binary_dilation(low, structure=np.ones((3,) * len(shape), dtype=bool), iterations=2)
    minimum = np.nanmin(values)
    values = np.where(np.isnan(values), np.maximum(estimate, minimum + exact_below), values)
    return Scan(values - minimum, exact_below, None)
