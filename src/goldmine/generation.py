"""Parton-level event generation with the embedded generators, written as LHE.

Events are drawn unweighted at a sampling benchmark and carry one weight per
benchmark, as MadGraph's reweight module writes them: for an event z drawn at θ_s,

    w_b(z) = σ(θ_s)/N · dσ(z|θ_b) / dσ(z|θ_s),

so that Σ_z w_b(z) estimates σ(θ_b) and the weights morph exactly to any θ.
"""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np

from goldmine.io import lhe
from goldmine.physics.parameters import ParameterSpace
from goldmine.physics.processes import Process

__all__ = ["generate", "generate_lhe"]

def generate(
    process: Process, space: ParameterSpace, n_events: int, seed: int, sampling_benchmark: str = "sm"
) -> tuple[lhe.LHEInit, lhe.LHEEvents]:
    """Draw ``n_events`` unweighted events at a benchmark, weighted to every benchmark.

    Args:
        process: the embedded process (any :class:`~goldmine.physics.processes.Process`).
        space: parameters and benchmarks.
        n_events: number of events.
        seed: seed of the random generator (one per chunk).
        sampling_benchmark: name of the benchmark the events are drawn at.

    Returns:
        (init, events): the LHE ``<init>`` block and the events.

    Example:
        >>> from goldmine.physics.parameters import build_parameter_space
        >>> from goldmine.physics.processes import EEMuMu
        >>> process = EEMuMu(sqrt_s=200.0)
        >>> space = build_parameter_space(process.parameter_names, [(-1, 1), (-1, 1)], (2, 2), 2, n_trials=20)
        >>> init, events = generate(process, space, 20000, seed=1)
        >>> float(np.round(events.weights[:, 0].sum() / process.cross_section([0, 0]), 6))  # SM weights add up to σ
        1.0
    """
    rng = np.random.default_rng(seed)
    theta_sampling = space.benchmark(sampling_benchmark)
    sigma_sampling = float(process.cross_section(theta_sampling))
    points = process.sample_phase_space(n_events, theta_sampling, rng)

    dsigma = process.phase_space_density(points, space.benchmarks)  # (n_benchmarks, n_events)
    dsigma_sampling = process.phase_space_density(points, theta_sampling)
    weights = (sigma_sampling / n_events) * (dsigma / dsigma_sampling).T

    record = process.hard_process(points)
    n_particles = len(record.status)
    columns = {
        "pdgid": record.pdgid.ravel(),
        "status": np.tile(record.status, n_events),
        "mother1": np.tile(record.mother1, n_events),
        "mother2": np.tile(record.mother2, n_events),
        "color1": record.color1.ravel(),
        "color2": record.color2.ravel(),
    }
    four_momenta = record.momenta.reshape(-1, 4)
    columns.update(
        px=four_momenta[:, 1], py=four_momenta[:, 2], pz=four_momenta[:, 3], energy=four_momenta[:, 0],
        mass=record.mass.ravel(),
        lifetime=np.zeros(n_events * n_particles),
        spin=np.full(n_events * n_particles, 9.0),
    )
    particles = ak.unflatten(ak.zip(columns, depth_limit=1), np.full(n_events, n_particles))

    init = lhe.LHEInit(
        beam_ids=(11, -11),
        beam_energies=(0.5 * process.sqrt_s, 0.5 * process.sqrt_s),
        weighting_strategy=3,
        cross_sections=np.array([sigma_sampling]),
        cross_section_errors=np.array([0.0]),
        process_ids=np.array([1]),
        weight_ids=space.benchmark_names,
        header=(
            f"<goldmine process='{process.name}' sqrt_s='{process.sqrt_s}' seed='{seed}' "
            f"sampling_benchmark='{sampling_benchmark}'/>"
        ),
    )
    events = lhe.LHEEvents(
        particles=particles,
        weight=np.full(n_events, sigma_sampling / n_events),
        scale=np.full(n_events, process.sqrt_s),
        aqed=np.full(n_events, process.alpha_em),
        aqcd=np.full(n_events, 0.118),
        process_id=np.ones(n_events, dtype=np.int64),
        weights=weights,
        weight_ids=space.benchmark_names,
    )
    return init, events


def generate_lhe(
    path: str | Path,
    process: Process,
    space: ParameterSpace,
    n_events: int,
    seed: int,
    sampling_benchmark: str = "sm",
) -> None:
    """Generate events (see :func:`generate`) and write them atomically to an LHE file."""
    init, events = generate(process, space, n_events, seed, sampling_benchmark)
    lhe.write(path, init, events)
