"""Summaries of every file a run writes, and of MadMiner's event files, in the spirit of ``pyhf inspect``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from goldmine.io import events, lhe
from goldmine.io.opener import EventFile, open_events

__all__ = ["inspect_file"]


def _lhe_summary(path: Path) -> dict[str, Any]:
    init = lhe.read_init(path)
    n_events = 0
    weight_sums = np.zeros(len(init.weight_ids))
    nominal_sum = 0.0
    for block in lhe.iterate(path):
        n_events += len(block)
        nominal_sum += float(block.weight.sum())
        if block.weights.shape[1]:
            weight_sums += block.weights.sum(axis=0)
    return {
        "beams": {"ids": list(init.beam_ids), "energies_gev": list(init.beam_energies)},
        "events": n_events,
        "cross_section_pb": float(np.sum(init.cross_sections)),
        "cross_section_error_pb": float(np.sqrt(np.sum(np.square(init.cross_section_errors)))),
        "sum_of_nominal_weights": nominal_sum,
        "weight_ids": list(init.weight_ids),
        "sum_of_weights": dict(zip(init.weight_ids, map(float, weight_sums))),
    }


def _particles_summary(path: Path) -> dict[str, Any]:
    with h5py.File(path, "r") as handle:
        weights = handle["events/weights"]
        weight_ids = [str(name) for name in handle.attrs["weight_ids"]]
        weight_sums = np.zeros(weights.shape[1])
        for begin in range(0, weights.shape[0], 100_000):
            weight_sums += weights[begin:begin + 100_000].sum(axis=0)
        return {
            "source": str(handle.attrs.get("source", "")),
            "lhe_events": int(handle.attrs["lhe_events"]),
            "events": int(handle["events/counts"].shape[0]),
            "particles": int(handle["particles/pdgid"].shape[0]),
            "weight_ids": weight_ids,
            "sum_of_weights": dict(zip(weight_ids, map(float, weight_sums))),
        }


def _samples_summary(path: Path) -> dict[str, Any]:
    from goldmine.io.samples import SAMPLE_FIELDS

    with h5py.File(path, "r") as handle:
        shapes = {field: list(handle[field].shape) for field in SAMPLE_FIELDS if field in handle}
        provenance = {key: (value.item() if isinstance(value, np.generic) else str(value))
                      for key, value in handle.attrs.items() if not key.startswith("goldmine_")}
    return {"samples": next(iter(shapes.values()), [0])[0], "shapes": shapes, "provenance": provenance}


def _delphes_summary(path: Path) -> dict[str, Any]:
    from goldmine.io import delphes

    return {"events": delphes.count(path), "collections": list(delphes.present(path))}


_SUMMARIES: dict[str, Callable[[Path], dict[str, Any]]] = {
    "lhe": _lhe_summary,
    "delphes": _delphes_summary,
    "setup": events.summary,
    "events": events.summary,
    "particles": _particles_summary,
    "samples": _samples_summary,
}


def inspect_file(path: str | Path) -> dict[str, Any]:
    """Summarise any file :func:`~goldmine.io.open_events` recognises: LHE, Delphes ROOT, a
    goldmine setup, event, particle or training-sample file, or a MadMiner file.

    Args:
        path: the file.

    Returns:
        dict: JSON-ready summary, starting with the file, its kind and its format.

    Raises:
        goldmine.exceptions.EventFileError: naming the file and saying what it is when it is none of these.
    """
    described: EventFile = open_events(path)
    head = {"file": str(described.path), "kind": described.kind,
            "format": described.format if not described.version else f"{described.format} {described.version}"}
    return {**head, **_SUMMARIES[described.kind](described.path)}
