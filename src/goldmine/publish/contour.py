"""Exclusion contour of a reinterpretation over the plane of the first two signal masses."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from goldmine.io.atomic import atomic_output

__all__ = ["plot_exclusion"]


def plot_exclusion(results: dict[str, dict], path: Path, level: float = 0.05) -> Path:
    """Plot observed and expected (median, ±1σ) CLs = ``level`` contours over (mass 1, mass 2).

    Points whose status is not ``"ok"`` are drawn as red crosses and left out of the contours.

    Args:
        results: output of :func:`goldmine.publish.reinterpret.reinterpret`.
        path: the figure (format from the suffix), written atomically.
        level: the CLs of the contour.

    Returns:
        ``path``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = [r for r in results.values() if len(r["masses"]) >= 2]
    good = [r for r in points if r["status"] == "ok"]
    bad = [r for r in points if r["status"] != "ok"]
    figure, axes = plt.subplots(figsize=(6, 4.5))
    if good:
        x = np.array([r["masses"][0] for r in good])
        y = np.array([r["masses"][1] for r in good])
        observed = np.array([r["CLs_obs"] for r in good])
        axes.scatter(x, y, c=observed < level, cmap="coolwarm", s=12, label=f"points (excluded: CLs < {level})")
        if len(good) >= 3 and len(set(x)) > 1 and len(set(y)) > 1:
            for values, style, label in [
                (observed, dict(colors="black"), "observed"),
                (np.array([r["CLs_exp"][2] for r in good]), dict(colors="blue", linestyles="dashed"), "expected"),
                (np.array([r["CLs_exp"][1] for r in good]), dict(colors="blue", linestyles="dotted"), "expected ±1σ"),
                (np.array([r["CLs_exp"][3] for r in good]), dict(colors="blue", linestyles="dotted"), None),
            ]:
                contour = axes.tricontour(x, y, values, levels=[level], **style)
                if label and contour.allsegs[0]:
                    axes.plot([], [], label=label, color=style["colors"], linestyle=style.get("linestyles", "solid"))
    if bad:
        axes.scatter([r["masses"][0] for r in bad], [r["masses"][1] for r in bad], marker="x", color="red",
                     label="ill-conditioned / no sensitivity")
    axes.set_xlabel("mass 1 [GeV]")
    axes.set_ylabel("mass 2 [GeV]")
    axes.legend(fontsize="small")
    figure.tight_layout()
    with atomic_output(path) as temporary:
        figure.savefig(temporary, format=Path(path).suffix.lstrip(".") or "png")
    plt.close(figure)
    return Path(path)
