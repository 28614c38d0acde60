"""Parton shower and hadronisation of LHE events with Pythia 8 (pythia8mc), weights kept.

Pythia reads the LHE file itself (``Beams:frameType = 4``); goldmine reads the same file
with :mod:`goldmine.io.lhe` for the benchmark weights and checks, event by event, that the
hard process Pythia showered is the LHE event the weights belong to (the momenta of the
first outgoing particle agree). Events Pythia rejects are dropped together with their
weights, so order and bookkeeping survive the shower. The final-state particles are
written to an HDF5 particle file (flat columns plus the number of particles per event),
which the detector stage reads like an LHE file.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import awkward as ak
import numpy as np
import pythia8mc
from tqdm.auto import tqdm

from goldmine.exceptions import ShowerError
from goldmine.io import lhe
from goldmine.io.particles import PARTICLE_FIELDS, ParticleEvents

__all__ = ["shower"]

# Pythia puts massless LHE quarks on its mass shell (c: 1.5 GeV), shifting momenta by ~0.1%;
# another event differs by O(1).
_RELATIVE_TOLERANCE = 1e-2


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
        columns: dict[str, list[float]] = {field: [] for field in PARTICLE_FIELDS}
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
        particles = ak.unflatten(ak.zip({field: arrays[field] for field in PARTICLE_FIELDS}, depth_limit=1),
                                 np.asarray(counts, dtype=np.int64))
        kept = np.asarray(kept, dtype=np.int64)
        yield ParticleEvents(particles, block.weights[kept], block.weight_ids, first + kept, len(block))
        first += len(block)
    bar.close()
