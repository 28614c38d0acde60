"""What a run did and what it found, in words: the end-of-run table and the report's front page.

:func:`limits_table` renders limits.json as a method × parameter table of the 68% and 95%
CL intervals with their marks (open ends, flags), on data the best fit and the observed
intervals before the expected ones; the ``infer`` command prints it, the
workflow prints it when a run ends and its report shows it on the front page.
:func:`describe_run` says, from the configuration alone, what the run made (process, √s,
shower, detector, methods, ensemble, luminosity); :func:`front_page` puts the two together.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from importlib import import_module
from pathlib import Path
from typing import Any

from goldmine.ml import MORPHING_AWARE_PREFIX

__all__ = ["FLAG_MARKS", "describe_run", "front_page", "limits_table"]

#: the mark of each flag of limits.json, and what it means (the legend under the table).
FLAG_MARKS = {
    "excludes_asimov_point": ("!", "the interval excludes the point the Asimov data were made at"),
    "narrower_than_exact": ("*", "the interval is narrower than the exact likelihood's"),
    "failed": ("#", "failed against the exact likelihood beyond its error bar (validation.json says how)"),
}

_OPEN = "open (q stays below the threshold up to that edge of the scanned range)"


def _decimals(axis: Sequence[float]) -> int:
    """Decimals that resolve a tenth of the grid step: finer than the scan, no 16-digit noise."""
    step = (axis[-1] - axis[0]) / max(len(axis) - 1, 1)
    return max(0, 1 - math.floor(math.log10(step))) if step > 0 else 4


def _end(value: float | None, edge: float, decimals: int, below: bool) -> str:
    if value is None:
        return f"{'<' if below else '>'}{edge:+.{decimals}f}"
    return f"{value:+.{decimals}f}"


def _interval_cells(intervals: Mapping[str, Any], name: str, axis: Sequence[float], decimals: int,
                    flags: set[str]) -> list[str]:
    cells = []
    for label in ("68", "95"):
        entry = intervals[label][name]
        low = _end(entry["low"], axis[0], decimals, below=True)
        high = _end(entry["high"], axis[-1], decimals, below=False)
        cells.append(f"[{low}, {high}]")
        flags.update(entry["flags"])
    return cells


def _rows(document: Mapping[str, Any]) -> list[list[str]]:
    meta = document["meta"]
    rows = []
    for method, result in document["methods"].items():
        for k, (name, axis) in enumerate(zip(meta["parameters"], meta["axes"])):
            decimals = _decimals(axis)
            flags: set[str] = set()
            cells = _interval_cells(result["intervals"], name, axis, decimals, flags)
            if "data" in meta:
                observed = result.get("observed")
                cells = ([f"{observed['best_fit'][k]:+.{decimals}f}",
                          *_interval_cells(observed["intervals"], name, axis, decimals, flags)] if observed
                         else ["-"] * 3) + cells
            marks = "".join(FLAG_MARKS[flag][0] for flag in FLAG_MARKS if flag in flags)
            rows.append([method, name, *cells, marks])
    return rows


def _legend(document: Mapping[str, Any]) -> list[str]:
    meta = document["meta"]
    expected = f"Expected intervals on Asimov data at L = {meta['luminosity_pb']:g} pb⁻¹."
    if "data" in meta:
        expected = (f"Best fit and observed intervals on {meta['data']['file']} ({meta['data']['events']:g} events); "
                    + expected[0].lower() + expected[1:] + " -: no likelihood of data (SALLINO)")
    return [expected, f"<edge, >edge: {_OPEN}", *(f"{mark}: {meaning}" for mark, meaning in FLAG_MARKS.values())]


def limits_table(document: Mapping[str, Any], rst: bool = False) -> str:
    """The intervals of limits.json as a table: method × parameter, 68% and 95% CL, marks.

    An open end (null in limits.json) is shown as ``<edge`` or ``>edge`` of the scanned
    range; each flag of an interval gets a mark (:data:`FLAG_MARKS`), explained under the table.

    Args:
        document: the limits.json document (:func:`goldmine.inference.results.limits_document`).
        rst: a reStructuredText simple table (for the report) instead of plain text.

    Returns:
        str: the table and its legend.

    Example:
        >>> interval = {"low": None, "high": 0.1234, "flags": ["excludes_asimov_point"]}
        >>> document = {"meta": {"parameters": ["c"], "axes": [[-0.2, 0.0, 0.2]], "luminosity_pb": 500.0},
        ...             "methods": {"nde": {"intervals": {"68": {"c": interval}, "95": {"c": interval}}}}}
        >>> print(limits_table(document))
        method  parameter  68% CL           95% CL           marks
        nde     c          [<-0.20, +0.12]  [<-0.20, +0.12]  !
        Expected intervals on Asimov data at L = 500 pb⁻¹.
        <edge, >edge: open (q stays below the threshold up to that edge of the scanned range)
        !: the interval excludes the point the Asimov data were made at
        *: the interval is narrower than the exact likelihood's
        #: failed against the exact likelihood beyond its error bar (validation.json says how)
    """
    header = ["method", "parameter", "68% CL", "95% CL", "marks"]
    if "data" in document["meta"]:
        header = ["method", "parameter", "best fit", "observed 68% CL", "observed 95% CL", "expected 68% CL",
                  "expected 95% CL", "marks"]
    rows = _rows(document)
    legend = _legend(document)
    if rst:
        # Marks as literals: a bare "*" would open emphasis.
        rows = [[*row[:-1], f"``{row[-1]}``" if row[-1] else ""] for row in rows]
        legend = [legend[0], legend[1], *(f"``{mark}``: {meaning}" for mark, meaning in FLAG_MARKS.values())]
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows)]
    if rst:
        rule = "  ".join("=" * width for width in widths)
        lines = [rule, _line(header, widths), rule, *(_line(row, widths) for row in rows), rule]
        return "\n".join([*lines, "", *(f"| {line}" for line in legend)]) + "\n"
    return "\n".join([_line(header, widths), *(_line(row, widths) for row in rows), *legend])


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(f"{cell:<{width}}" for cell, width in zip(cells, widths)).rstrip()


def _method_name(method: str) -> str:
    if method.startswith(MORPHING_AWARE_PREFIX):
        return f"morphing-aware {method.removeprefix(MORPHING_AWARE_PREFIX).upper()}"
    return method.upper()


def _process_title(config: Mapping[str, Any]) -> str:
    from goldmine.physics.processes import get_process

    if config["process"]["name"] == "madgraph":
        # The process card says what MadGraph generates; its beams (the energy) are in the run card.
        lines = (Path(config["process"]["cards"]) / "proc_card.dat").read_text().splitlines()
        generated = next((line.split(None, 1)[1] for line in lines if line.startswith("generate ")), "?")
        return f"MadGraph5_aMC@NLO, ``{generated}`` (cards {config['process']['cards']})"

    process = get_process(config["process"])
    # The process module's first docstring line is its one-line physics description.
    return import_module(type(process).__module__).__doc__.splitlines()[0].rstrip(".")


def _detector_text(config: Mapping[str, Any]) -> str:
    card = config["detector"].get("card")
    if card is None:
        muon = config["detector"]["muon"]
        return (f"the parametrised muon detector (efficiency {muon['efficiency']:g}, |cos θ| < "
                f"{muon['cos_theta_max']:g}, {muon['momentum_resolution']:.0%} momentum resolution)")
    from goldmine.detection.cards import load_card

    return f"the detector card {load_card(card).name!r} ({card})"


def describe_run(config: Mapping[str, Any]) -> str:
    """What the run of ``config`` did, from generation to limits, in one paragraph.

    Args:
        config: a validated configuration (:func:`goldmine.config.load`).

    Returns:
        str: plain text (reStructuredText without markup beyond literals).

    Example:
        >>> from goldmine import config
        >>> text = describe_run(config.load("config/config.yaml"))
        >>> "√s = 200 GeV" in text, "not showered" in text, "SALLY, ALICES" in text
        (True, True, True)
    """
    process = config["process"]
    generation = config["generation"]
    training = config["training"]
    ranges = ", ".join(f"{name} ∈ [{low:g}, {high:g}]" for name, (low, high) in process["parameters"].items())
    shower = ("showered by Pythia 8" if config["shower"]["enabled"]
              else "not showered (the particles of the hard process reach the detector)")
    ensemble = training["ensemble"]
    members = f", an ensemble of {ensemble} networks each" if ensemble > 1 else ""
    inference = config["inference"]
    energy = "" if process["name"] == "madgraph" else f", at √s = {process['sqrt_s']:g} GeV"
    return (
        f"Analysis ``{config['name']}``: {_process_title(config)}{energy}, "
        f"with {ranges}. {generation['chunks'] * generation['events_per_chunk']} parton-level events in "
        f"{generation['chunks']} chunks, one weight per benchmark (morphing gives every other point), "
        f"{shower}, passed through {_detector_text(config)}; observables: {', '.join(_observable_names(config))}. "
        f"Gold mining gives the joint likelihood ratio and score of every event; trained estimators: "
        f"{', '.join(_method_name(method) for method in training['methods'])}{members}. "
        f"Expected limits on Asimov data of the point {config['mining']['reference_benchmark']!r} at "
        f"L = {inference['luminosity']:g} pb⁻¹, on a grid of {inference['grid_points']} points per parameter."
    )


def _observable_names(config: Mapping[str, Any]) -> list[str]:
    from goldmine.detection.observables import resolve

    return [observable.name for observable in resolve(config["observables"])]


def front_page(config: Mapping[str, Any], document: Mapping[str, Any]) -> str:
    """The report's front page (reStructuredText): :func:`describe_run` and :func:`limits_table`.

    Args:
        config: the validated configuration of the run.
        document: its limits.json.

    Returns:
        str: reStructuredText.
    """
    return "\n".join([describe_run(config), "", "Expected intervals of every method:", "",
                      limits_table(document, rst=True)])
