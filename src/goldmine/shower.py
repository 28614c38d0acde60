"""Parton shower and hadronisation of LHE events with Pythia 8 (pythia8mc), weights kept.

Pythia reads the LHE file itself (``Beams:frameType = 4``); goldmine reads the same file
with :mod:`goldmine.lhe` for the benchmark weights and checks, event by event, that the
hard process Pythia showered is the LHE event the weights belong to (the momenta of the
first outgoing particle agree). Events Pythia rejects are dropped together with their
weights, so order and bookkeeping survive the shower. The final-state particles are
written to an HDF5 particle file (flat columns plus the number of particles per event),
which the detector stage reads like an LHE file.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import awkward as ak
import h5py
import numpy as np
import pythia8mc
from tqdm.auto import tqdm

from goldmine import lhe
from goldmine.atomic import atomic_output

__all__ = ["ParticleEvents", "ShowerError", "iterate_particles", "shower", "write_particles"]

_FIELDS = ("pdgid", "status", "px", "py", "pz", "energy", "mass")
# Pythia puts massless LHE quarks on its mass shell (c: 1.5 GeV), shifting momenta by ~0.1%;
# another event differs by O(1).
_RELATIVE_TOLERANCE = 1e-2


class ShowerError(ValueError):
    """Pythia and the LHE file disagree, or Pythia cannot start (message names the file and event)."""


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


def _pythia(lhe_path: Path, settings: Sequence[str], seed: int) -> pythia8mc.Pythia:
    pythia = pythia8mc.Pythia("", False)
    for setting in (
        "Beams:frameType = 4", f"Beams:LHEF = {lhe_path}", "Next:numberCount = 0", "Next:numberShowEvent = 0",
        "Random:setSeed = on", f"Random:seed = {seed}", *settings,
    ):
        if not pythia.readString(setting):
            raise ShowerError(f"Pythia does not accept the setting {setting!r}")
    if not pythia.init():
        raise ShowerError(f"{lhe_path}: Pythia could not initialise (see its output above)")
    return pythia


def _first_outgoing(particles: ak.Array) -> np.ndarray:
    outgoing = particles[particles.status == 1]
    return np.stack([ak.to_numpy(outgoing[field][:, 0]) for field in ("px", "py", "pz")], axis=1)


def shower(lhe_path: str | Path, settings: Sequence[str] = (), seed: int = 1, step_size: int = 10_000,
           progress: bool = False) -> Iterator[ParticleEvents]:
    """Shower (and hadronise, as the settings say) every event of an LHE file.

    Args:
        lhe_path: LHE file (plain or gzip).
        settings: Pythia setting strings, e.g. ``["PartonLevel:ISR = off", "HadronLevel:all = off"]``.
        seed: Pythia's random seed (one per chunk).
        step_size: events per yielded block.
        progress: show a progress bar.

    Yields:
        ParticleEvents blocks, in LHE order.

    Raises:
        ShowerError: if Pythia showered another event than the LHE file holds at that place.
    """
    lhe_path = Path(lhe_path)
    pythia = _pythia(lhe_path, settings, seed)
    info = pythia.infoPython()
    bar = tqdm(desc=f"shower {lhe_path.name}", unit="event", disable=not progress)
    first = 0
    for block in lhe.iterate(lhe_path, step_size=step_size):
        expected = _first_outgoing(block.particles)
        columns: dict[str, list[float]] = {field: [] for field in _FIELDS}
        counts, kept = [], []
        for i in range(len(block)):
            if not pythia.next():
                if info.atEndOfFile():
                    raise ShowerError(f"{lhe_path}: Pythia reached the end of the file at event {first + i}")
                continue  # Pythia rejected this event: it is dropped with its weights
            hard = next(p for p in pythia.process if abs(p.status()) == 23)
            difference = np.abs(np.array([hard.px(), hard.py(), hard.pz()]) - expected[i])
            if np.max(difference) > _RELATIVE_TOLERANCE * np.linalg.norm(expected[i]) + 1e-6:
                raise ShowerError(f"{lhe_path}: event {first + i}: Pythia's hard process differs from the LHE event")
            final = [p for p in pythia.event if p.isFinal()]
            counts.append(len(final))
            kept.append(i)
            for p in final:
                columns["pdgid"].append(p.id())
                columns["px"].append(p.px())
                columns["py"].append(p.py())
                columns["pz"].append(p.pz())
                columns["energy"].append(p.e())
                columns["mass"].append(p.m())
            bar.update()
        n_particles = sum(counts)
        arrays = {field: np.asarray(values, dtype=np.int64 if field == "pdgid" else float)
                  for field, values in columns.items() if field != "status"}
        arrays["status"] = np.ones(n_particles, dtype=np.int64)
        particles = ak.unflatten(ak.zip({field: arrays[field] for field in _FIELDS}, depth_limit=1),
                                 np.asarray(counts, dtype=np.int64))
        kept = np.asarray(kept, dtype=np.int64)
        yield ParticleEvents(particles, block.weights[kept], block.weight_ids, first + kept, len(block))
        first += len(block)
    bar.close()


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
        datasets: dict[str, h5py.Dataset] = {}
        for block in blocks:
            counts = ak.to_numpy(ak.num(block.particles))
            if not datasets:
                handle.attrs["weight_ids"] = list(block.weight_ids)
                for field in _FIELDS:
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
            for field in _FIELDS:
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
            columns = {field: handle[f"particles/{field}"][start:stop] for field in _FIELDS}
            particles = ak.unflatten(ak.zip(columns, depth_limit=1), counts[begin:end])
            # The LHE events behind a block read back: up to the next block's first event.
            last = lhe_index[end] if end < len(counts) else int(handle.attrs["lhe_events"])
            yield ParticleEvents(particles, handle["events/weights"][begin:end], weight_ids, lhe_index[begin:end],
                                 int(last - (lhe_index[begin] if begin else 0)))
