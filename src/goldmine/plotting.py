"""Figures of an analysis, as PNG and PDF: what a physicist looks at first.

Every figure is drawn in mplhep's ROOT style (:data:`STYLE`, applied by each plot function
and nowhere else, so importing this module leaves a notebook's own style alone), every
method is drawn in its own style (:func:`method_style`), legends sit outside the axes, and
every axis names its quantity and unit.
"""

from __future__ import annotations

import functools
import json
import zlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import mplhep  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
from matplotlib.transforms import blended_transform_factory  # noqa: E402
from scipy.stats import chi2  # noqa: E402

from goldmine.detection.observables import DEFINITIONS, axis_label, unit_of  # noqa: E402
from goldmine.io import events  # noqa: E402
from goldmine.io.atomic import atomic_output  # noqa: E402

__all__ = [
    "STYLE",
    "plot_design",
    "method_style",
    "plot_all",
    "plot_calibration",
    "plot_distributions",
    "plot_fisher_ellipses",
    "plot_limits",
    "plot_measurement",
    "plot_training",
]

#: mplhep's ROOT style: the look of the field (ticks inside on all four sides, minor ticks,
#: axis titles at the axis ends, Helvetica-like sans serif) without an experiment's name on
#: it, as ATLAS, CMS or LHCb styles would put on a result no experiment made. The font is
#: smaller than ROOT's 26 pt, which is sized for one 10-inch panel, not several.
STYLE: list[Any] = [mplhep.style.ROOT, {"font.size": 18, "legend.fontsize": "x-small"}]

#: estimator family → colour (Petroff's colour-blind-safe palette, extended); its
#: morphing-aware variant shares the colour, dashed, so the pair reads as one family.
_FAMILY_COLOURS = {
    "alices": "#bd1f01", "alice": "#e76300", "rascal": "#a96b59", "rolr": "#ffa90e", "carl": "#b9ac70",
    "cascal": "#3ab7bf", "sally": "#3f90da", "sallino": "#1c3f94", "nde": "#832db6", "scandal": "#e377c2",
}
_FAMILY_LABELS = {"nde": "NDE", "scandal": "SCANDAL", "sally": "SALLY (score histogram)",
                  "sallino": "SALLINO (score histogram)"}
#: methods that are no estimator: the references the estimators are judged against.
_REFERENCE_STYLES = {
    # under every other line (zorder 2): a method that agrees with it stays visible on top of it
    "exact": dict(color="black", linestyle="-", linewidth=3.0, zorder=1.5, label="exact likelihood"),
    "histogram": dict(color="#2ca02c", linestyle="-.", label="histogram (pyhf)"),
    "rate": dict(color="#94a4a2", linestyle=":", label="rate only"),
    "truth": dict(color="#717581", linestyle=(0, (1, 1)), label="parton-level truth"),
}
#: per-observable histograms (histogram_1d:<observable>): greens, apart from the histogram's;
#: a built-in observable by its place in DEFINITIONS, a user's by a hash of its name (the
#: same in every run).
_HISTOGRAM_1D_COLOURS = ("#1b9e77", "#66a61e", "#006d2c", "#74c476", "#00441b", "#41ab5d", "#99d8c9", "#4d9221")
#: beyond the colours (more built-in observables than colours), the next dash pattern.
_HISTOGRAM_1D_DASHES = ((0, (3, 1, 1, 1)), (0, (3, 1, 1, 1, 1, 1)))
#: anything else (a method added later): never black, which is the exact likelihood's.
_OTHER_COLOURS = ("#e7298a", "#7570b3", "#d95f02", "#666600", "#1f78b4", "#b15928")
#: benchmarks and ensemble members: Petroff's ten colours.
_BENCHMARK_COLOURS = ("#3f90da", "#ffa90e", "#bd1f01", "#94a4a2", "#832db6", "#a96b59", "#e76300", "#b9ac70",
                      "#717581", "#92dadd")
_LINEWIDTH = 2.0


def _styled(function: Callable[..., Any]) -> Callable[..., Any]:
    """Draw ``function``'s figure in :data:`STYLE` (the one place it is applied)."""

    @functools.wraps(function)
    def styled(*args: Any, **kwargs: Any) -> Any:
        with plt.style.context(STYLE):
            return function(*args, **kwargs)

    return styled


def method_style(method: str) -> dict[str, Any]:
    """The line style of a method in every plot: colour, line style, width and legend label.

    Each estimator family has its colour; ``morphing_<family>`` shares it, dashed; the
    references (exact likelihood, histogram, rate, truth) and each ``histogram_1d:<observable>``
    have their own; no method is drawn like the exact likelihood (black).

    Args:
        method: a method name of limits.json or fisher.json, e.g. "alices", "morphing_carl",
            "histogram_1d:m_mumu".

    Returns:
        dict: keyword arguments for ``matplotlib``'s ``plot`` (``color``, ``linestyle``,
        ``linewidth``, ``label``).

    Example:
        >>> method_style("morphing_alices")["label"], method_style("morphing_alices")["linestyle"]
        ('ALICES (morphing-aware)', '--')
        >>> method_style("histogram_1d:m_mumu")["label"]
        'histogram of m_mumu'
    """
    if method in _REFERENCE_STYLES:
        return {"linewidth": _LINEWIDTH, **_REFERENCE_STYLES[method]}
    family = method.removeprefix("morphing_")
    if family in _FAMILY_COLOURS:
        label = _FAMILY_LABELS.get(family, family.upper())
        if family != method:
            return dict(color=_FAMILY_COLOURS[family], linestyle="--", linewidth=_LINEWIDTH,
                        label=f"{label} (morphing-aware)")
        return dict(color=_FAMILY_COLOURS[family], linestyle="-", linewidth=_LINEWIDTH, label=label)
    if method.startswith("histogram_1d:"):
        observable = method.partition(":")[2]
        built_in = list(DEFINITIONS)
        index = built_in.index(observable) if observable in built_in else zlib.crc32(observable.encode())
        colours = len(_HISTOGRAM_1D_COLOURS)
        return dict(color=_HISTOGRAM_1D_COLOURS[index % colours],
                    linestyle=_HISTOGRAM_1D_DASHES[index // colours % len(_HISTOGRAM_1D_DASHES)],
                    linewidth=1.5, label=f"histogram of {observable}")
    return dict(color=_OTHER_COLOURS[zlib.crc32(method.encode()) % len(_OTHER_COLOURS)], linestyle=(0, (5, 1)),
                linewidth=_LINEWIDTH, label=method)


def _legend_below(figure: plt.Figure, handles: Sequence[Any], title: str | None = None, columns: int = 2) -> None:
    """One legend for the whole figure, below its axes, where it covers no data."""
    figure.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncols=columns, title=title,
                  frameon=False)


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


@_styled
def plot_distributions(event_file: str | Path, output: str | Path) -> list[Path]:
    """Normalised distributions of every observable at every benchmark, one panel per
    observable, the benchmarks' legend below the panels.

    Args:
        event_file: an event file (its first 200 000 events are histogrammed).
        output: the PNG to write; a PDF is written beside it.

    Returns:
        list: the PNG and the PDF.
    """
    space = events.read_parameter_space(event_file)
    names = events.read_observable_names(event_file)
    descriptions = events.read_observable_descriptions(event_file)
    sample = events.read(event_file, stop=200_000)
    n = len(names)
    columns = min(3, n)
    rows = int(np.ceil(n / columns))
    figure, axes = plt.subplots(rows, columns, figsize=(7 * columns, 6 * rows), squeeze=False,
                                layout="constrained")
    for i, (name, description) in enumerate(zip(names, descriptions)):
        ax = axes.flat[i]
        values = sample.observations[:, i]
        edges = np.linspace(*np.percentile(values, [0.1, 99.9]), 31)
        for b, benchmark in enumerate(space.benchmark_names):
            counts, _ = np.histogram(values, edges, weights=sample.weights[:, b])
            point = ", ".join(f"{p} = {v:+.2f}" for p, v in zip(space.names, space.benchmarks[b]))
            mplhep.histplot(counts / counts.sum() / np.diff(edges), edges, ax=ax, label=f"{benchmark} ({point})",
                            color=_BENCHMARK_COLOURS[b % len(_BENCHMARK_COLOURS)],
                            linestyle=("-", "--", ":")[b // len(_BENCHMARK_COLOURS) % 3])
        ax.set_xlabel(axis_label(name, description))
        unit = unit_of(name, description)
        ax.set_ylabel(r"$(1/\sigma)\,d\sigma/dx$" + (f" [1/{unit}]" if unit else ""))
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    _legend_below(figure, axes.flat[0].get_legend_handles_labels()[0], title="benchmark",
                  columns=min(3, len(space.benchmark_names)))
    return _save(figure, output)


@_styled
def plot_fisher_ellipses(fisher: Mapping[str, Any], output: str | Path) -> list[Path]:
    """68% CL ellipses Δθᵀ I Δθ = 2.30 of every Fisher information, around the reference point.

    A rank-one information (the rate alone) is drawn as the band it constrains. The
    per-observable histograms (``histogram_1d:*``) are in fisher.json only: most are such
    bands, and six of them would hide the ellipses.

    Args:
        fisher: fisher.json of ``goldmine infer``.
        output: the PNG to write; a PDF is written beside it.

    Returns:
        list: the PNG and the PDF.
    """
    meta = fisher["meta"]
    # The first two parameters; further ones (ee_ww has three) are held at the reference.
    center = np.array(meta["reference"])[:2]
    angle = np.linspace(0, 2 * np.pi, 200)
    circle = np.stack([np.cos(angle), np.sin(angle)])
    figure, ax = plt.subplots(figsize=(9, 9), layout="constrained")
    bands = []
    for row, (method, entry) in enumerate(fisher["methods"].items()):
        if method.startswith("histogram_1d:"):
            continue
        matrix = np.asarray(entry["matrix"])
        style = method_style(method)
        if len(matrix) == 1:  # one parameter: the 68% CL interval θ_ref ± 1/√I as a bar
            half_width = 1.0 / np.sqrt(matrix[0, 0]) if matrix[0, 0] > 0 else np.inf
            ax.errorbar(center[0], row, xerr=min(half_width, 1e3), fmt="none", capsize=6, **style)
            continue
        values, vectors = np.linalg.eigh(matrix[:2, :2])
        if "ensemble_std" in entry:
            style["label"] += " (ensemble mean)"
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
        for sign, label in ((1, style["label"]), (-1, None)):
            line = center[:, None] + sign * offset[:, None] + along
            ax.plot(line[0], line[1], **dict(style, label=label))
    one_parameter = len(meta["parameters"]) == 1
    ax.plot(center[0], -1 if one_parameter else center[1], marker="*", color="gold", markersize=18,
            markeredgecolor="k", linestyle="none", label="reference point")
    ax.set_xlabel(_parameter_label(meta["parameters"][0]))
    if one_parameter:
        ax.set_yticks([])
    else:
        ax.set_ylabel(_parameter_label(meta["parameters"][1]))
    held = ", ".join(_parameter_label(name) for name in meta["parameters"][2:])
    ax.set_title(f"Fisher information, 68% CL, L = {meta['luminosity_pb']:g} pb$^{{-1}}$"
                 + (f" ({held} at the reference)" if held else ""), fontsize="medium")
    _legend_below(figure, ax.get_legend_handles_labels()[0])
    return _save(figure, output)


def _parameter_label(name: str) -> str:
    r"""A parameter's axis label: its name, typeset (``c_vv`` → $c_{vv}$); a Wilson coefficient
    at fixed Λ is dimensionless, so no unit.

    Example:
        >>> _parameter_label("c_vv"), _parameter_label("cWWW"), _parameter_label("sin2_theta_w")
        ('$c_{vv}$', 'cWWW', '$\\sin^2\\theta_W$')
    """
    if name == "sin2_theta_w":
        return r"$\sin^2\theta_W$"
    head, _, tail = name.partition("_")
    if tail and head.isalpha() and tail.isalnum():
        return f"${head}_{{{tail}}}$"
    return name


#: the marks of an interval, in the intervals panels and the legend.
_OPEN_MARKS = {"low": "<", "high": ">"}
_FLAG_MARKS = {
    "excludes_asimov_point": dict(marker="X", label="excludes the Asimov point"),
    "narrower_than_exact": dict(marker="d", label="narrower than the exact likelihood"),
    "failed": dict(marker="P", label="failed against the exact likelihood (validation.json)"),
}


def _draw_intervals(ax: plt.Axes, row: int, per_level: Mapping[str, Mapping[str, Any]], edges: tuple[float, float],
                    style: Mapping[str, Any]) -> set[str]:
    """One method's 68% (thick) and 95% (thin) interval of one parameter on ``row``; an open
    end is an arrowhead at the edge of the scan, a flag a mark right of the axes. Returns the
    marks drawn."""
    marks = set()
    for level, width in (("95", 2), ("68", 7)):
        interval = per_level.get(level)
        if interval is None:
            continue
        low = edges[0] if interval["low"] is None else interval["low"]
        high = edges[1] if interval["high"] is None else interval["high"]
        ax.plot([low, high], [row, row], color=style["color"], linewidth=width, solid_capstyle="butt")
        for end, x in (("low", low), ("high", high)):
            if interval[end] is None:
                ax.plot(x, row, marker=_OPEN_MARKS[end], color=style["color"], markersize=14, clip_on=False)
                marks.add("open")
        for k, flag in enumerate(_FLAG_MARKS):
            if flag in interval["flags"]:
                marks.add(flag)
                ax.plot(1.04 + 0.07 * k, row, transform=blended_transform_factory(ax.transAxes, ax.transData),
                        marker=_FLAG_MARKS[flag]["marker"], color=style["color"], markeredgecolor="k",
                        markersize=12, clip_on=False)
    return marks


def _draw_observed(ax: plt.Axes, interval_axes: Sequence[plt.Axes], row: int, observed: Mapping[str, Any],
                   axes_values: Sequence[np.ndarray], parameters: Sequence[str], method: str,
                   style: Mapping[str, Any]) -> None:
    """One method's observed q (1-d) or contours (2-d, thick), its best fit (a circle), and its
    observed 68% and 95% intervals above its expected ones in the intervals panels."""
    best_fit = observed["best_fit"]
    if len(parameters) == 1:
        ax.plot(axes_values[0], observed["q"], color=style["color"], linewidth=2.5, gid=f"{method}:observed")
        ax.plot(best_fit[0], 0.0, marker="o", color=style["color"], markeredgecolor="k", markersize=9,
                linestyle="none", clip_on=False)
    else:
        contours = ax.contour(axes_values[0], axes_values[1], np.array(observed["q"]).T, levels=[2.30, 5.99],
                              colors=[style["color"]], linestyles=["solid"], linewidths=2.5)
        contours.set_gid(f"{method}:observed")
        ax.plot(best_fit[0], best_fit[1], marker="o", color=style["color"], markeredgecolor="k", markersize=9,
                linestyle="none")
    for k, name in enumerate(parameters):
        edges = (float(axes_values[k][0]), float(axes_values[k][-1]))
        _draw_intervals(interval_axes[k], row + 0.3, {level: entry[name] for level, entry in
                                                      observed["intervals"].items()}, edges, style)
        interval_axes[k].plot(best_fit[k], row + 0.3, marker="o", color=style["color"], markeredgecolor="k",
                              markersize=8)


@_styled
def plot_limits(limits: Mapping[str, Any], output: str | Path) -> list[Path]:
    """Expected 68% and 95% CL contours (2 d.o.f.) of every method against the exact likelihood,
    beside each method's profiled 1-d intervals; on data (limits.json with ``meta.data``), each
    method's observed contours (thick) and best fit (a circle) over its expected ones (faint),
    and its observed intervals above the expected ones.

    The intervals panels mark what a reader must not take as a limit: an end open at the edge
    of the scan (an arrowhead there: the edge is no limit) and a flagged interval (a mark
    right of the panel). The legend names the same in words, and an ensemble's size.

    Args:
        limits: limits.json of ``goldmine infer``.
        output: the PNG to write; a PDF is written beside it.

    Returns:
        list: the PNG and the PDF.
    """
    meta = limits["meta"]
    parameters = meta["parameters"]
    axes_values = [np.array(axis) for axis in meta["axes"]]
    methods = limits["methods"]
    figure = plt.figure(figsize=(18, 9), layout="constrained")
    grid = figure.add_gridspec(len(parameters), 2, width_ratios=(1, 1))
    ax = figure.add_subplot(grid[:, 0])
    interval_axes = [figure.add_subplot(grid[k, 1]) for k in range(len(parameters))]
    handles = []
    on_data = "data" in meta
    for row, (method, result) in enumerate(reversed(methods.items())):
        style = method_style(method)
        label = style.pop("label")
        # on data the expected curves are the faint band behind the observed ones
        expected_alpha = 0.4 if on_data else 1.0
        if len(parameters) == 1:  # q itself: its crossings of 1 and 3.84 are the intervals
            ax.plot(axes_values[0], result["q"], gid=method, alpha=expected_alpha, **style)
        else:
            # Beyond two parameters the contours are the first two's, the others profiled on the grid.
            surface = np.array(result["q"])
            surface = surface.min(axis=tuple(range(2, surface.ndim))) if surface.ndim > 2 else surface
            contours = ax.contour(axes_values[0], axes_values[1], surface.T, levels=[2.30, 5.99],
                                  colors=[style["color"]], linestyles=[style["linestyle"]],
                                  linewidths=style["linewidth"], alpha=expected_alpha, zorder=style.get("zorder", 2))
            contours.set_gid(method)
        if result.get("observed"):
            _draw_observed(ax, interval_axes, row, result["observed"], axes_values, parameters, method, style)
        marks = set()
        for k, name in enumerate(parameters):
            edges = (float(axes_values[k][0]), float(axes_values[k][-1]))
            marks |= _draw_intervals(interval_axes[k], row, {level: entry[name] for level, entry in
                                                             result["intervals"].items()}, edges, style)
            for member in result.get("members", []):  # the ensemble's spread, faint, under the mean's
                interval = member["intervals"].get("68", {}).get(name)
                if interval is not None and interval["low"] is not None and interval["high"] is not None:
                    interval_axes[k].plot([interval["low"], interval["high"]], [row - 0.3] * 2, color=style["color"],
                                          linewidth=1, alpha=0.5)
        notes = [f"ensemble of {len(result['members'])}"] if result.get("members") else []
        notes += (["open at the scan's edge"] if "open" in marks else [])
        notes += [_FLAG_MARKS[flag]["label"] for flag in _FLAG_MARKS if flag in marks]
        handle = Line2D([], [], label=label + (f" ({'; '.join(notes)})" if notes else ""), **style)
        handle.set_gid(method)
        handles.append(handle)
    handles.reverse()
    reference = meta["reference"][:2] if len(parameters) > 1 else [meta["reference"][0], 0.0]
    handles.append(ax.plot(*reference, marker="*", color="gold", markersize=20, markeredgecolor="k",
                           linestyle="none", label="Asimov point", clip_on=False)[0])
    ax.set_xlabel(_parameter_label(parameters[0]))
    if len(parameters) == 1:
        for level in (chi2.ppf(0.6827, 1), chi2.ppf(0.95, 1)):
            ax.axhline(level, color="k", linestyle=":", linewidth=1)
        ax.set_ylim(0.0, 3 * chi2.ppf(0.95, 1))
        ax.set_ylabel(r"$q = -2\,\Delta\log L$")
        ax.set_title("profile likelihood ratio; dotted: 68% and 95% CL", fontsize="medium")
    else:
        ax.set_ylabel(_parameter_label(parameters[1]))
        profiled = ", ".join(_parameter_label(name) for name in parameters[2:])
        ax.set_title("68% (inner) and 95% (outer) CL contours" + (f", {profiled} profiled" if profiled else ""),
                     fontsize="medium")
    labels = [method_style(method)["label"] for method in reversed(methods)]
    for k, (interval_ax, name) in enumerate(zip(interval_axes, parameters)):
        interval_ax.axvline(meta["reference"][k], color="k", linestyle=":", linewidth=1)
        interval_ax.set_xlim(axes_values[k][0], axes_values[k][-1])
        interval_ax.set_ylim(-0.7, len(methods) - 0.3)
        interval_ax.set_yticks(range(len(methods)), labels, fontsize="x-small")
        interval_ax.minorticks_off()
        interval_ax.tick_params(axis="y", right=False, pad=14)  # room for an arrowhead at the left edge
        interval_ax.set_xlabel(_parameter_label(name))
        interval_ax.set_ylabel("method")
    interval_axes[0].set_title("profiled intervals: 68% thick, 95% thin, the scan's range", fontsize="x-small")
    handles += [Line2D([], [], color="k", marker=">", linestyle="none", markersize=12,
                       label="open: q stays below the threshold up to the scan's edge")]
    handles += [Line2D([], [], color="white", markeredgecolor="k", marker=mark["marker"], linestyle="none",
                       markersize=12, label=f"flag: {mark['label']}") for mark in _FLAG_MARKS.values()]
    if on_data:
        handles += [Line2D([], [], color="k", marker="o", linestyle="none", markersize=9,
                           label=f"best fit on {Path(meta['data']['file']).name}; thick: observed, faint: expected"),]
        figure.suptitle(f"Observed ({meta['data']['events']:g} events) and expected limits, "
                        f"L = {meta['luminosity_pb']:g} pb$^{{-1}}$", fontsize="medium")
    else:
        figure.suptitle(f"Expected limits, L = {meta['luminosity_pb']:g} pb$^{{-1}}$", fontsize="medium")
    _legend_below(figure, handles)
    return _save(figure, output)


@_styled
def plot_training(model_metadata: Sequence[str | Path], output: str | Path) -> list[Path]:
    """Training and validation loss per epoch, one panel per method, every ensemble member.

    A panel's loss axis is logarithmic where every loss is positive and they span more than a
    decade, linear otherwise: the NDE and SCANDAL losses are negative log densities, often
    below zero, which a log axis would hide.

    Args:
        model_metadata: the JSON metadata of each trained model.
        output: the PNG to write; a PDF is written beside it.

    Returns:
        list: the PNG and the PDF.
    """
    by_method: dict[str, list[dict]] = {}
    for path in map(Path, model_metadata):
        metadata = json.loads(path.read_text())
        by_method.setdefault(metadata["method"], []).append(metadata)
    n = max(1, len(by_method))
    columns = min(n, 3)
    rows = int(np.ceil(n / columns))
    figure, axes = plt.subplots(rows, columns, figsize=(8 * columns, 6.5 * rows), squeeze=False,
                                layout="constrained")
    for ax, (method, members) in zip(axes.flat, by_method.items()):
        losses = []
        for i, metadata in enumerate(members):
            history = metadata["history"]
            epochs = np.arange(1, len(history["train_loss"]) + 1)
            color = _BENCHMARK_COLOURS[i % len(_BENCHMARK_COLOURS)]
            ax.plot(epochs, history["train_loss"], color=color, alpha=0.5, linestyle="--")
            ax.plot(epochs, history["validation_loss"], color=color)
            ax.axvline(history["best_epoch"] + 1, color=color, linestyle=":")
            losses += [*history["train_loss"], *history["validation_loss"]]
        if min(losses) > 0 and max(losses) > 10 * min(losses):
            ax.set_yscale("log")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.set_title(method_style(method)["label"] + (f", {len(members)} members" if len(members) > 1 else ""),
                     fontsize="small")
    for ax in list(axes.flat)[len(by_method):]:
        ax.set_visible(False)
    _legend_below(figure, [Line2D([], [], color="k", alpha=0.5, linestyle="--", label="training"),
                           Line2D([], [], color="k", label="validation"),
                           Line2D([], [], color="k", linestyle=":", label="epoch kept"),
                           ], title="colour: ensemble member", columns=3)
    return _save(figure, output)


@_styled
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
            bottom.set_xlabel(axis_label(name))
            if column == 0:
                top.set_ylabel("σ per bin [pb]")
                bottom.set_ylabel("reweighted / target")
        chi2 = closure["chi2_per_ndf"]
        label = method_style(method)["label"]
        axes[2 * row, 0].set_title(f"{label}: χ²/ndf = {chi2:.2f}" if chi2 is not None else label, loc="left",
                                   fontsize="small")
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


#: axis labels of the experiment-design variables (goldmine.experiment.loop.VARIABLES).
_DESIGN_AXES = {"sqrt_s": "√s [GeV]"}


@_styled
def plot_design(document: Mapping[str, Any], output: str | Path) -> list[Path]:
    """The experiment design of design.json: the surrogate's mean with 68% and 95% bands over the
    range, every evaluation with its MC error and the number of its round, and the recommendation.

    Returns:
        list: the PNG and the PDF beside it.
    """
    surrogate, history = document["surrogate"], document["history"]
    grid, mean, std = (np.asarray(surrogate[key]) for key in ("settings", "mean", "std"))
    figure, axes = plt.subplots(figsize=(9, 6))
    band95 = axes.fill_between(grid, mean - 1.96 * std, mean + 1.96 * std, color="#c6dbef", label="95% band")
    band68 = axes.fill_between(grid, mean - std, mean + std, color="#6baed6", label="68% band")
    (line,) = axes.plot(grid, mean, color="#08306b", label="GP surrogate mean")
    rounds = sorted({entry["round"] for entry in history})
    colours = plt.get_cmap("viridis")(np.linspace(0.0, 0.9, len(rounds)))
    handles = [line, band68, band95]
    for colour, number in zip(colours, rounds):
        points = [entry for entry in history if entry["round"] == number]
        handle = axes.errorbar([e["setting"] for e in points], [e["eig"] for e in points],
                               yerr=[e["eig_error"] for e in points], fmt="o", color=colour, markersize=7,
                               label=f"round {number}" + (" (Sobol)" if number == 0 else ""))
        for entry in points:
            axes.annotate(str(number), (entry["setting"], entry["eig"]), textcoords="offset points", xytext=(4, 6),
                          fontsize="x-small", color=colour)
        handles.append(handle)
    best = document["recommendation"]
    axes.axvline(best["setting"], color="#d62728", linestyle="--")
    # A marker too: at an end of the range the line lies on the frame.
    handles.append(axes.plot([best["setting"]], [best["eig"]], marker="*", markersize=18, color="#d62728",
                             linestyle="--", label=f"recommended: {best['setting']:.4g}", clip_on=False)[0])
    axes.set_xlabel(_DESIGN_AXES.get(document["meta"]["variable"], document["meta"]["variable"]))
    axes.set_ylabel("expected information gain [nats]")
    axes.set_xlim(*document["meta"]["range"])
    _legend_below(figure, handles, title=f"budget: fixed {document['meta']['budget']}", columns=3)
    return _save(figure, output)


#: how the two measurements of measurement.json are drawn.
_MEASUREMENT_STYLES = {"chosen": dict(color="#d62728", label="recommended"),
                       "naive": dict(color="#3f90da", label="naive")}


@_styled
def plot_measurement(document: Mapping[str, Any], limits: Mapping[str, Mapping[str, Any]],
                     output: str | Path) -> list[Path]:
    """The measurement at the recommended and at the naive setting (measurement.json, from the
    limits.json of each): the observed q of the first parameter over its grid with the 68% and
    95% CL thresholds (left), and both intervals side by side with their best fits (right).

    Returns:
        list: the PNG and the PDF beside it.
    """
    meta = document["meta"]
    name, method = meta["parameters"][0], meta["method"]
    truth = meta["truth"][0]
    unit = _DESIGN_AXES.get(meta["variable"].split(".")[-1], meta["variable"]).split()[-1].strip("[]")
    figure, (curves, bars) = plt.subplots(1, 2, figsize=(14, 6))
    handles = []
    for row, label in enumerate(("naive", "chosen")):
        entry, style = document[label], _MEASUREMENT_STYLES[label]
        axis = np.asarray(limits[label]["meta"]["axes"][0])
        q = np.asarray(limits[label]["methods"][method]["observed"]["q"])
        text = f"{style['label']}: {entry['setting']:.4g} {unit}, {entry['events']:.0f} events"
        handles.append(curves.plot(axis, q, color=style["color"], label=text)[0])
        for level, width in (("95", 2), ("68", 7)):
            interval = entry["intervals"]["observed"][level][name]
            low = axis[0] if interval["low"] is None else interval["low"]
            high = axis[-1] if interval["high"] is None else interval["high"]
            bars.plot([low, high], [row, row], color=style["color"], linewidth=width, solid_capstyle="butt")
        bars.plot([entry["best_fit"][name]], [row], "o", color="black", markersize=6)
        interval = entry["intervals"]["observed"]["68"][name]
        if interval["low"] is not None and interval["high"] is not None:
            best = entry["best_fit"][name]
            bars.annotate(f"{best:.5f} +{interval['high'] - best:.5f} −{best - interval['low']:.5f}", (best, row),
                          textcoords="offset points", xytext=(0, 12), ha="center", fontsize="x-small")
    for axes in (curves, bars):
        axes.axvline(truth, color="grey", linestyle=":")
        axes.set_xlabel(_parameter_label(name))
    for level, threshold in (("68% CL", chi2.ppf(0.6827, 1)), ("95% CL", chi2.ppf(0.95, 1))):
        curves.axhline(threshold, color="grey", linestyle="--", linewidth=1)
        curves.annotate(level, (1.0, threshold), xycoords=("axes fraction", "data"), ha="right", va="bottom",
                        fontsize="x-small")
    curves.set_ylim(0, 10)
    curves.set_ylabel(f"observed q ({method})")
    bars.margins(x=0.2)  # room for the labels of the intervals at the ends
    bars.set_yticks([0, 1], ["naive", "recommended"])
    bars.set_ylim(-0.6, 1.6)
    handles.append(Line2D([], [], color="grey", linestyle=":", label=f"truth {truth:.5g}"))
    handles.append(Line2D([], [], color="black", marker="o", linestyle="", label="best fit"))
    _legend_below(figure, handles, title="thick: 68% CL, thin: 95% CL", columns=2)
    return _save(figure, output)
