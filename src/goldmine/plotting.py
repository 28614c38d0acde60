"""Figures of an analysis, as PNG and PDF: what a physicist looks at first."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import mplhep  # noqa: E402
import numpy as np  # noqa: E402

from goldmine.detection.observables import LABELS  # noqa: E402
from goldmine.io import events  # noqa: E402
from goldmine.io.atomic import atomic_output  # noqa: E402

__all__ = ["plot_all", "plot_calibration", "plot_distributions", "plot_fisher_ellipses", "plot_limits", "plot_training"]

_METHOD_STYLE = {
    "exact": dict(color="black", linestyle="-", linewidth=2.5, label="exact likelihood"),
    "alices": dict(color="tab:red", linestyle="-", label="ALICES"),
    "alice": dict(color="tab:orange", linestyle="-", label="ALICE"),
    "rascal": dict(color="tab:brown", linestyle="--", label="RASCAL"),
    "rolr": dict(color="tab:pink", linestyle=":", label="ROLR"),
    "carl": dict(color="tab:olive", linestyle="-.", label="CARL"),
    "cascal": dict(color="tab:cyan", linestyle="-", label="CASCAL"),
    "sallino": dict(color="navy", linestyle=":", label="SALLINO"),
    "sally": dict(color="tab:blue", linestyle="--", label="SALLY (score histogram)"),
    "histogram": dict(color="tab:green", linestyle="-.", label="histogram (pyhf)"),
    "rate": dict(color="tab:gray", linestyle=":", label="rate only"),
    "truth": dict(color="tab:purple", linestyle=(0, (1, 1)), label="parton-level truth"),
}


def _save(figure: plt.Figure, output: str | Path) -> list[Path]:
    """Write the figure to ``output`` (a PNG) and, beside it, the same figure as a PDF."""
    paths = []
    for path in (Path(output), Path(output).with_suffix(".pdf")):
        kind = path.suffix.lstrip(".") or "png"
        # A PDF records when it was made; without that date the same figure gives the same bytes.
        metadata = {"CreationDate": None} if kind == "pdf" else None
        with atomic_output(path) as temporary:
            figure.savefig(temporary, format=kind, dpi=120, bbox_inches="tight", metadata=metadata)
        paths.append(path)
    plt.close(figure)
    return paths


def plot_distributions(event_file: str | Path, output: str | Path, max_benchmarks: int = 4) -> list[Path]:
    """Normalised distributions of every observable at the first benchmarks."""
    space = events.read_parameter_space(event_file)
    names = events.read_observable_names(event_file)
    sample = events.read(event_file, stop=200_000)
    n = len(names)
    columns = min(3, n)
    rows = int(np.ceil(n / columns))
    figure, axes = plt.subplots(rows, columns, figsize=(5 * columns, 4 * rows), squeeze=False)
    for i, name in enumerate(names):
        ax = axes.flat[i]
        values = sample.observations[:, i]
        edges = np.linspace(*np.percentile(values, [0.1, 99.9]), 31)
        for b in range(min(max_benchmarks, len(space.benchmark_names))):
            counts, _ = np.histogram(values, edges, weights=sample.weights[:, b])
            point = ", ".join(f"{p}={v:+.2f}" for p, v in zip(space.names, space.benchmarks[b]))
            mplhep.histplot(counts / counts.sum() / np.diff(edges), edges, ax=ax,
                            label=f"{space.benchmark_names[b]} ({point})")
        ax.set_xlabel(LABELS.get(name, name))
        ax.set_ylabel("normalised density")
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize="small")
    figure.suptitle("Observables at the benchmarks")
    return _save(figure, output)


def plot_fisher_ellipses(fisher: Mapping[str, Any], output: str | Path) -> list[Path]:
    """68% CL ellipses Δθᵀ I Δθ = 2.30 of every Fisher information, around the reference point.

    A rank-one information (the rate alone) is drawn as the band it constrains.
    """
    meta = fisher["meta"]
    center = np.array(meta["reference"])
    angle = np.linspace(0, 2 * np.pi, 200)
    circle = np.stack([np.cos(angle), np.sin(angle)])
    figure, ax = plt.subplots(figsize=(6, 6))
    bands = []
    for method, entry in fisher["methods"].items():
        if ":" in method:  # per-observable histograms are in the JSON only
            continue
        values, vectors = np.linalg.eigh(np.asarray(entry["matrix"])[:2, :2])
        style = _METHOD_STYLE.get(method, {"label": method})
        if values[0] <= 1e-9 * values[1]:
            bands.append((vectors, values, style))
            continue
        ellipse = vectors @ (circle * np.sqrt(2.30 / values)[:, None])
        ax.plot(center[0] + ellipse[0], center[1] + ellipse[1], **style)
    ax.autoscale_view()
    ax.autoscale(False)  # the bands must not stretch the axes
    for vectors, values, style in bands:
        offset = vectors[:, 1] * np.sqrt(2.30 / values[1])
        along = vectors[:, 0][:, None] * np.array([-10.0, 10.0])
        for sign, label in ((1, style.get("label")), (-1, None)):
            line = center[:, None] + sign * offset[:, None] + along
            ax.plot(line[0], line[1], **dict(style, label=label))
    ax.set_xlabel(meta["parameters"][0])
    ax.set_ylabel(meta["parameters"][1])
    ax.set_title(f"Fisher information, 68% CL, L = {meta['luminosity_pb']:g} pb$^{{-1}}$")
    ax.legend(fontsize="small")
    return _save(figure, output)


def plot_limits(limits: Mapping[str, Any], output: str | Path) -> list[Path]:
    """Expected 68% and 95% CL contours (2 d.o.f.) of every method against the exact likelihood.

    A method whose 95% CL region reaches the edge of the grid is labelled "open"; a flagged
    interval (narrower than the exact one, excluding the Asimov point) is named in the legend.
    """
    meta = limits["meta"]
    x_axis, y_axis = (np.array(axis) for axis in meta["axes"][:2])
    figure, ax = plt.subplots(figsize=(6.5, 6))
    for method, result in limits["methods"].items():
        q = np.array(result["q"])
        style = dict(_METHOD_STYLE.get(method, {"label": method}))
        label = style.pop("label")
        intervals = [entry for per_parameter in result["intervals"].values() for entry in per_parameter.values()]
        notes = sorted({flag.replace("_", " ") for entry in intervals for flag in entry["flags"]})
        if any(entry["low"] is None or entry["high"] is None for entry in intervals):
            notes.insert(0, "open")
        if notes:
            label += f" ({'; '.join(notes)})"
        ax.contour(x_axis, y_axis, q.T, levels=[2.30, 5.99], colors=style.get("color", "k"),
                   linestyles=[style.get("linestyle", "-")], linewidths=style.get("linewidth", 1.5))
        ax.plot([], [], label=label, **style)
    ax.plot(*meta["reference"][:2], marker="*", color="gold", markersize=14, markeredgecolor="k", linestyle="none",
            label="Asimov point")
    ax.set_xlabel(meta["parameters"][0])
    ax.set_ylabel(meta["parameters"][1])
    ax.set_title(f"Expected 68% and 95% CL, L = {meta['luminosity_pb']:g} pb$^{{-1}}$")
    ax.legend(fontsize="small", loc="upper right")
    return _save(figure, output)


def plot_training(model_metadata: Sequence[str | Path], output: str | Path) -> list[Path]:
    """Training and validation loss per epoch, one panel per method, every ensemble member."""
    by_method: dict[str, list[dict]] = {}
    for path in map(Path, model_metadata):
        metadata = json.loads(path.read_text())
        by_method.setdefault(metadata["method"], []).append(metadata)
    n = max(1, len(by_method))
    columns = min(n, 4)
    rows = int(np.ceil(n / columns))
    figure, axes = plt.subplots(rows, columns, figsize=(5 * columns, 4 * rows), squeeze=False)
    for ax, (method, members) in zip(axes.flat, by_method.items()):
        for i, metadata in enumerate(members):
            history = metadata["history"]
            epochs = np.arange(1, len(history["train_loss"]) + 1)
            color = plt.cm.tab10(i % 10)
            ax.plot(epochs, history["train_loss"], color=color, alpha=0.5,
                    label="training" if i == 0 else None)
            ax.plot(epochs, history["validation_loss"], color=color,
                    label="validation" if i == 0 else None)
            ax.axvline(history["best_epoch"] + 1, color=color, linestyle=":")
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.set_title(method.upper() + (f" ({len(members)} members)" if len(members) > 1 else ""))
        ax.legend(title="dotted: epoch kept", fontsize="small")
    for ax in list(axes.flat)[len(by_method):]:
        ax.set_visible(False)
    return _save(figure, output)


def plot_calibration(validation: Mapping[str, Any], output: str | Path) -> list[Path]:
    """Reweighted-histogram closure of every likelihood ratio (``validation["calibration"]``).

    One pair of rows per method (its χ²/ndf in the title), one column per observable: the test
    events weighted at each θ (solid) against the reference events reweighted by r̂ (dashed), and
    below their ratio, reweighted over target, with the bins' ±1σ band of the closure.
    """
    closures = validation.get("calibration", {})
    methods = list(closures)
    observables = list(next(iter(next(iter(closures.values()))["thetas"].values()))["observables"]) if methods else []
    columns = max(1, len(observables))
    figure, axes = plt.subplots(2 * max(1, len(methods)), columns, figsize=(3.2 * columns, 4.2 * max(1, len(methods))),
                                squeeze=False, gridspec_kw={"height_ratios": [2.5, 1] * max(1, len(methods))},
                                layout="constrained")
    for row, method in enumerate(methods):
        closure = closures[method]
        for column, name in enumerate(observables):
            top, bottom = axes[2 * row, column], axes[2 * row + 1, column]
            for i, (label, entry) in enumerate(closure["thetas"].items()):
                histogram = entry["observables"][name]
                edges = np.array(histogram["edges"])
                target, reweighted = np.array(histogram["target"]), np.array(histogram["reweighted"])
                color = plt.cm.tab10(i % 10)
                top.stairs(target, edges, color=color, label=f"{label}: morphed")
                top.stairs(reweighted, edges, color=color, linestyle="--", label=f"{label}: SM × r̂")
                with np.errstate(divide="ignore", invalid="ignore"):
                    ratio = np.where(target > 0, reweighted / target, np.nan)
                    band = np.where(target > 0, np.sqrt(histogram["variance"]) / target, np.nan)
                bottom.stairs(ratio, edges, color=color, baseline=None)
                bottom.stairs(1 + band, edges, baseline=1 - band, color=color, alpha=0.15, fill=True)
            bottom.axhline(1.0, color="k", linewidth=0.8)
            bottom.set_xlabel(LABELS.get(name, name))
            if column == 0:
                top.set_ylabel("σ per bin [pb]")
                bottom.set_ylabel("reweighted / target")
        chi2 = closure["chi2_per_ndf"]
        axes[2 * row, 0].set_title(f"{_METHOD_STYLE.get(method, {}).get('label', method)}: "
                                   f"χ²/ndf = {chi2:.2f}" if chi2 is not None else method, loc="left")
        axes[2 * row, 0].legend(fontsize="x-small")
    return _save(figure, output)


def plot_all(event_file: str | Path, limits_file: str | Path, fisher_file: str | Path,
             model_metadata: Sequence[str | Path], *, distributions_plot: str | Path, fisher_plot: str | Path,
             limits_plot: str | Path, training_plot: str | Path, validation_file: str | Path | None = None,
             calibration_plot: str | Path | None = None) -> list[Path]:
    """Every figure of the report, each as the PNG given and a PDF beside it.

    Args:
        event_file: the merged event file (observable distributions).
        limits_file: limits.json of ``goldmine infer`` (limit contours).
        fisher_file: fisher.json of ``goldmine infer`` (Fisher ellipses).
        model_metadata: the JSON metadata of every trained model (training curves).
        distributions_plot: the PNG of the observable distributions.
        fisher_plot: the PNG of the Fisher ellipses.
        limits_plot: the PNG of the limit contours.
        training_plot: the PNG of the training curves.
        validation_file: validation.json of ``goldmine infer`` (closure of the likelihood ratios).
        calibration_plot: the PNG of the closure (with ``validation_file``).

    Returns:
        list: every file written, PNG and PDF.
    """
    paths = plot_distributions(event_file, distributions_plot)
    paths += plot_fisher_ellipses(json.loads(Path(fisher_file).read_text()), fisher_plot)
    paths += plot_limits(json.loads(Path(limits_file).read_text()), limits_plot)
    paths += plot_training(model_metadata, training_plot)
    if calibration_plot is not None:
        paths += plot_calibration(json.loads(Path(validation_file).read_text()), calibration_plot)
    return paths
