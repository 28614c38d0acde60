"""One-parameter expected intervals of a finished run: each parameter alone, the others fixed at the reference.

Run as ``python scripts/one_parameter_intervals.py results/<name>`` after a workflow run. The
workflow's own intervals (limits.json, the end-of-run table) profile the other parameters; the
LEP experiments quoted one-parameter fits with the others fixed at the Standard Model, and this
reads those off the same q grids: q along the grid line through the reference, minus its
minimum on that line, crossing 1 (68% CL) and 3.84 (95% CL), interpolated linearly. Beside
them, the Fisher-information σ = 1/√I_ii (others fixed) of every method in fisher.json.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

THRESHOLDS = {"68": 1.0, "95": 3.84}


def _crossings(axis: np.ndarray, q: np.ndarray, threshold: float) -> tuple[float | None, float | None]:
    """The interval {q ≤ threshold} around the minimum; None for an end open at the edge of the axis."""
    best = int(np.argmin(q))
    low = high = None
    for i in range(best, 0, -1):
        if q[i - 1] > threshold >= q[i]:
            low = float(np.interp(threshold, [q[i], q[i - 1]], [axis[i], axis[i - 1]]))
            break
    for i in range(best, len(q) - 1):
        if q[i + 1] > threshold >= q[i]:
            high = float(np.interp(threshold, [q[i], q[i + 1]], [axis[i], axis[i + 1]]))
            break
    return low, high


def _text(low: float | None, high: float | None, axis: np.ndarray) -> str:
    return (f"[{'<' + format(axis[0], '+.3f') if low is None else format(low, '+.3f')}, "
            f"{'>' + format(axis[-1], '+.3f') if high is None else format(high, '+.3f')}]")


def main(results: Path) -> None:
    limits = json.loads((results / "inference" / "limits.json").read_text())
    fisher = json.loads((results / "inference" / "fisher.json").read_text())
    meta = limits["meta"]
    axes = [np.array(axis) for axis in meta["axes"]]
    centre = tuple(int(np.argmin(np.abs(axis - value))) for axis, value in zip(axes, meta["reference"]))
    print(f"{'method':<12}{'parameter':<20}{'68% CL':<20}{'95% CL':<20}σ = 1/√I_ii (Fisher)")
    for method, result in limits["methods"].items():
        q = np.array(result["q"])
        matrix = np.asarray(fisher["methods"][method]["matrix"]) if method in fisher["methods"] else None
        for k, name in enumerate(meta["parameters"]):
            line = q[centre[:k] + (slice(None),) + centre[k + 1:]]
            line = line - line.min()
            columns = [_text(*_crossings(axes[k], line, THRESHOLDS[level]), axes[k]) for level in THRESHOLDS]
            sigma = "" if matrix is None or matrix[k, k] <= 0 else f"{1 / np.sqrt(matrix[k, k]):.3f}"
            print(f"{method:<12}{name:<20}{columns[0]:<20}{columns[1]:<20}{sigma}")
    for method in ("truth", "histogram_1d:cos_theta_w"):
        if method in fisher["methods"]:
            matrix = np.asarray(fisher["methods"][method]["matrix"])
            print(f"{method}: σ = 1/√I_ii = "
                  + ", ".join(f"{name} {1 / np.sqrt(matrix[k, k]):.3f}" for k, name in enumerate(meta["parameters"])))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
