"""Exclusion contours of a reinterpretation over the plane of the first two signal masses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from goldmine.io.atomic import atomic_output

__all__ = ["best_expected", "exclusion_contours", "plot_exclusion"]


def best_expected(results: Mapping[str, Mapping[str, dict]]) -> dict[str, dict]:
    """Per signal point, the result of the likelihood (signal region) with the lowest median expected CLs.

    This is how an analysis with several signal regions quotes one exclusion (ATLAS SUSY-2018-31
    takes the region with the best expected sensitivity at each point): the choice uses only
    expected CLs, so the observed data do not pick the region. Only ``ok`` results compete; a
    point without any keeps the first region's result.

    Args:
        results: results of :func:`goldmine.publish.reinterpret.reinterpret`, keyed by region.

    Returns:
        One result per patch name (first-seen order), each with ``"region"`` added.

    Example:
        >>> a = {"p": {"status": "ok", "CLs_exp": [0, 0, 0.2, 0, 0]}}
        >>> b = {"p": {"status": "ok", "CLs_exp": [0, 0, 0.1, 0, 0]}}
        >>> best_expected({"A": a, "B": b})["p"]["region"]
        'B'
    """
    combined: dict[str, dict] = {}
    for region, region_results in results.items():
        for name, result in region_results.items():
            candidate = {**result, "region": region}
            current = combined.get(name)
            if current is None or (result["status"] == "ok" and (
                    current["status"] != "ok" or result["CLs_exp"][2] < current["CLs_exp"][2])):
                combined[name] = candidate
    return combined


def _log_ratio(values: np.ndarray, level: float) -> np.ndarray:
    """log10(CLs / level): CLs spans tens of decades (1e-40 deep inside the excluded region), so the
    contour is interpolated in its logarithm, where it varies smoothly between points."""
    return np.log10(np.maximum(values, 1e-300) / level)


def _points(results: dict[str, dict], fixed: Mapping[int, float]) -> tuple[list[dict], list[dict]]:
    """The results with at least two masses and the ``fixed`` ones: (``ok``, the others)."""
    points = [r for r in results.values() if len(r["masses"]) >= 2
              and all(len(r["masses"]) > k and r["masses"][k] == value for k, value in fixed.items())]
    return [r for r in points if r["status"] == "ok"], [r for r in points if r["status"] != "ok"]


def _fields(good: list[dict], level: float) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """The points' (mass 1, mass 2) and log10(CLs / level) of the observed, median and ±1σ expected CLs."""
    x = np.array([r["masses"][0] for r in good], dtype=float)
    y = np.array([r["masses"][1] for r in good], dtype=float)
    band = np.array([r["CLs_exp"] for r in good], dtype=float)
    fields = {"observed": _log_ratio(np.array([r["CLs_obs"] for r in good]), level),
              "expected": _log_ratio(band[:, 2], level),
              # CLs_exp[1] is the smaller CLs (+1σ of the test statistic): the larger expected exclusion
              "expected_up": _log_ratio(band[:, 1], level), "expected_down": _log_ratio(band[:, 3], level)}
    return x, y, fields


def exclusion_contours(results: dict[str, dict], level: float = 0.05,
                       fixed: Mapping[int, float] | None = None) -> dict[str, list[np.ndarray]]:
    """The CLs = ``level`` lines over (mass 1, mass 2): log10 CLs interpolated linearly on a Delaunay triangulation.

    Args:
        results: output of :func:`goldmine.publish.reinterpret.reinterpret` (or :func:`best_expected`);
            only ``ok`` results count.
        level: the CLs of the contour.
        fixed: only points whose masses at these 0-based positions have these values.

    Returns:
        For ``observed``, ``expected`` (median), ``expected_up`` and ``expected_down`` (±1σ): the
        contour's lines, each an (n, 2) array of (mass 1, mass 2); empty where CLs never crosses
        ``level``, and all empty with fewer than three points or points on a line.

    Example:
        >>> results = {f"p{a}_{b}": {"status": "ok", "masses": [a, b], "CLs_obs": 10 ** (-a / 100),
        ...                          "CLs_exp": [10 ** (-a / 100)] * 5} for a in (0, 100, 200) for b in (0, 100)}
        >>> line = exclusion_contours(results)["observed"][0]
        >>> np.unique(np.round(line[:, 0], 1)).tolist()   # CLs = 0.05 where a = 100 log10(20)
        [130.1]
    """
    from matplotlib.figure import Figure
    from matplotlib.tri import Triangulation

    good, _ = _points(results, dict(fixed or {}))
    lines: dict[str, list[np.ndarray]] = {name: [] for name in ("observed", "expected", "expected_up",
                                                                "expected_down")}
    if len(good) < 3 or len({r["masses"][0] for r in good}) < 2 or len({r["masses"][1] for r in good}) < 2:
        return lines
    x, y, fields = _fields(good, level)
    triangulation = Triangulation(x, y)
    axes = Figure().subplots()  # matplotlib's contouring, on a figure that is never drawn
    for name, values in fields.items():
        if values.min() < 0 < values.max():
            lines[name] = [np.asarray(line) for line in axes.tricontour(triangulation, values, levels=[0]).allsegs[0]]
    return lines


def plot_exclusion(results: dict[str, dict], path: Path, level: float = 0.05,
                   labels: Sequence[str] = ("mass 1 [GeV]", "mass 2 [GeV]"),
                   fixed: Mapping[int, float] | None = None, title: str | None = None) -> Path:
    """Plot the observed and expected CLs = ``level`` contours with the expected ±1σ band over (mass 1, mass 2).

    The lines are those of :func:`exclusion_contours`. Points whose status is not ``"ok"`` are
    drawn as red crosses and left out of the contours.

    Args:
        results: output of :func:`goldmine.publish.reinterpret.reinterpret` (or :func:`best_expected`).
        path: the figure (format from the suffix), written atomically.
        level: the CLs of the contour.
        labels: the axis labels (mass 1, mass 2).
        fixed: only points whose masses at these 0-based positions have these values (e.g.
            ``{2: 60.0}``: the third mass at 60 GeV); stated on the figure.
        title: a line above the figure.

    Returns:
        ``path``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fixed = dict(fixed or {})
    good, bad = _points(results, fixed)
    lines = exclusion_contours(results, level, fixed)
    figure, axes = plt.subplots(figsize=(6.4, 5.0))
    if good:
        x, y, fields = _fields(good, level)
        excluded = fields["observed"] < 0
        axes.scatter(x[~excluded], y[~excluded], s=6, color="0.6", zorder=3, label="signal points")
        axes.scatter(x[excluded], y[excluded], s=6, color="0.2", zorder=3,
                     label=f"excluded (CLs$_{{obs}}$ < {level:g})")
        if lines["expected_up"]:
            # inside the band: excluded at expected +1σ but not at −1σ
            inside = np.maximum(fields["expected_up"], -fields["expected_down"])
            axes.tricontourf(x, y, inside, levels=[inside.min() - 1, 0], colors=["gold"], alpha=0.7, zorder=1)
            axes.fill_between([], [], color="gold", alpha=0.7, label=r"expected $\pm 1\sigma_{exp}$")
    for name, colour, style, width in [("expected", "black", "dashed", 1.5), ("observed", "red", "solid", 2.5)]:
        for k, line in enumerate(lines[name]):
            axes.plot(line[:, 0], line[:, 1], color=colour, linestyle=style, linewidth=width, zorder=2,
                      label=None if k else f"{name} limit")
    if bad:
        axes.scatter([r["masses"][0] for r in bad], [r["masses"][1] for r in bad], marker="x", color="red",
                     zorder=4, label="ill-conditioned / no sensitivity")
    axes.set_xlabel(labels[0], fontsize=12)
    axes.set_ylabel(labels[1], fontsize=12)
    details = [f"mass {k + 1} = {value:g}" for k, value in sorted(fixed.items())]
    details.append(f"CLs = {level:g}, {len(good)} points")
    axes.set_title("\n".join([*([title] if title else []), ", ".join(details)]), fontsize=10)
    shown = good + bad
    if shown:
        # the filled band pins the axes to the triangulation: give the outermost points room
        for limits, k in ((axes.set_xlim, 0), (axes.set_ylim, 1)):
            low, high = min(r["masses"][k] for r in shown), max(r["masses"][k] for r in shown)
            margin = 0.04 * (high - low) or 1.0
            limits(low - margin, high + margin)
    axes.legend(fontsize="small", loc="upper left", frameon=False)
    axes.tick_params(direction="in", top=True, right=True)
    figure.tight_layout()
    with atomic_output(path) as temporary:
        figure.savefig(temporary, format=Path(path).suffix.lstrip(".") or "png", dpi=200)
    plt.close(figure)
    return Path(path)
