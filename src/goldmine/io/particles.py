"""The particle file: final-state particles of showered events with their benchmark weights.

HDF5 columns ``particles/<field>`` (flat, one row per particle), ``events/counts`` (particles
per event), ``events/weights`` and ``events/lhe_index``; attributes ``weight_ids``,
``goldmine_kind`` (``particles``), ``goldmine_format_version`` and ``lhe_events`` (the LHE
events behind the file, Pythia's rejections included, which weigh the file when event files
are merged). Written by ``goldmine shower``, read by the detector.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import awkward as ak
import h5py
import numpy as np

from goldmine.io.atomic import atomic_output
from goldmine.io.opener import mark

__all__ = ["PARTICLE_FIELDS", "ParticleEvents", "iterate_particles", "write_particles"]

#: the columns of each particle.
PARTICLE_FIELDS = ("pdgid", "status", "px", "py", "pz", "energy", "mass")


@dataclass(frozen=True)
class ParticleEvents:
    """Final-state particles of showered events, with the weights of their LHE events.

    Args:
        particles: jagged records with fields pdgid, status (1), px, py, pz, energy, mass.
        weights: per-benchmark weights of each event, shape (n, len(weight_ids)).
        weight_ids: the LHE weight ids.
        lhe_index: index of each event in its LHE file.
        lhe_events: the LHE events this block was made from, those Pythia rejected included.
    """

    particles: ak.Array
    weights: np.ndarray
    weight_ids: tuple[str, ...]
    lhe_index: np.ndarray
    lhe_events: int

    def __len__(self) -> int:
        return len(self.lhe_index)


def write_particles(path: str | Path, blocks: Iterator[ParticleEvents] | Sequence[ParticleEvents],
                    attributes: Mapping[str, object] | None = None) -> int:
    """Write particle events atomically to HDF5 (columns ``particles/<field>``, ``events/counts``,
    ``events/weights``, ``events/lhe_index``; attributes ``weight_ids`` and ``lhe_events``, the
    LHE events behind the file, which weigh it when event files are merged).

    Returns:
        int: the number of events written.
    """
    options = dict(compression="gzip", compression_opts=4, shuffle=True)
    n_events = n_particles = lhe_events = 0
    with atomic_output(path) as temporary, h5py.File(temporary, "w") as handle:
        mark(handle, "particles")
        datasets: dict[str, h5py.Dataset] = {}
        for block in blocks:
            counts = ak.to_numpy(ak.num(block.particles))
            if not datasets:
                handle.attrs["weight_ids"] = list(block.weight_ids)
                for field in PARTICLE_FIELDS:
                    dtype = "i8" if field in ("pdgid", "status") else "f8"
                    datasets[field] = handle.create_dataset(f"particles/{field}", (0,), maxshape=(None,),
                                                            chunks=(65536,), dtype=dtype, **options)
                datasets["counts"] = handle.create_dataset("events/counts", (0,), maxshape=(None,), chunks=(16384,),
                                                           dtype="i8", **options)
                datasets["lhe_index"] = handle.create_dataset("events/lhe_index", (0,), maxshape=(None,),
                                                              chunks=(16384,), dtype="i8", **options)
                width = block.weights.shape[1]
                datasets["weights"] = handle.create_dataset("events/weights", (0, width), maxshape=(None, width),
                                                            chunks=(16384, max(width, 1)), dtype="f8", **options)
            flat = ak.flatten(block.particles)
            m = n_particles + len(flat)
            for field in PARTICLE_FIELDS:
                datasets[field].resize(m, axis=0)
                datasets[field][n_particles:m] = ak.to_numpy(flat[field])
            k = n_events + len(block)
            for name, values in (("counts", counts), ("lhe_index", block.lhe_index), ("weights", block.weights)):
                datasets[name].resize(k, axis=0)
                datasets[name][n_events:k] = values
            n_events, n_particles = k, m
            lhe_events += block.lhe_events
        handle.attrs["lhe_events"] = lhe_events
        for key, value in (attributes or {}).items():
            handle.attrs[key] = value
    return n_events


def iterate_particles(path: str | Path, step_size: int = 100_000) -> Iterator[ParticleEvents]:
    """Read a particle file in blocks of at most ``step_size`` events."""
    with h5py.File(path, "r") as handle:
        counts = handle["events/counts"][()]
        offsets = np.concatenate([[0], np.cumsum(counts)])
        weight_ids = tuple(handle.attrs["weight_ids"])
        lhe_index = handle["events/lhe_index"][()]
        for begin in range(0, len(counts), step_size):
            end = min(begin + step_size, len(counts))
            start, stop = offsets[begin], offsets[end]
            columns = {field: handle[f"particles/{field}"][start:stop] for field in PARTICLE_FIELDS}
            particles = ak.unflatten(ak.zip(columns, depth_limit=1), counts[begin:end])
            # The LHE events behind a block read back: up to the next block's first event.
            last = lhe_index[end] if end < len(counts) else int(handle.attrs["lhe_events"])
            yield ParticleEvents(particles, handle["events/weights"][begin:end], weight_ids, lhe_index[begin:end],
                                 int(last - (lhe_index[begin] if begin else 0)))
