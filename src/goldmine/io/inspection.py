"""Summaries of goldmine's files, in the spirit of ``pyhf inspect``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from goldmine.io import events, lhe

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
        "file": str(path),
        "format": "LHE",
        "beams": {"ids": list(init.beam_ids), "energies_gev": list(init.beam_energies)},
        "events": n_events,
        "cross_section_pb": float(np.sum(init.cross_sections)),
        "cross_section_error_pb": float(np.sqrt(np.sum(np.square(init.cross_section_errors)))),
        "sum_of_nominal_weights": nominal_sum,
        "weight_ids": list(init.weight_ids),
        "sum_of_weights": dict(zip(init.weight_ids, map(float, weight_sums))),
    }


def inspect_file(path: str | Path) -> dict[str, Any]:
    """Summarise an LHE file (plain or gzip) or an HDF5 event/setup file.

    Args:
        path: the file.

    Returns:
        dict: JSON-ready summary (events, weights, cross sections, parameters, …).

    Raises:
        ValueError: if the file is neither LHE nor HDF5.
    """
    path = Path(path)
    if events.is_hdf5(path):
        return dict(events.summary(path), format="HDF5 event file")
    with open(path, "rb") as handle:
        head = handle.read(8)
    if head.startswith(b"\x1f\x8b") or b"<LesH" in head or head.lstrip().startswith(b"<"):
        return _lhe_summary(path)
    raise ValueError(f"{path}: neither an LHE nor an HDF5 file")
