"""Benchmark of goldmine.io.lhe: events per second for read, iterate and write, and peak memory.

Run as ``python benchmarks/bench_lhe.py [--events N]``. A synthetic file (4 particles and
6 reweighting weights per event) is written with :func:`goldmine.io.lhe.write` into a
temporary directory, then read back; the real MadGraph ``pp_to_jj`` file (145 weights per
event) is read repeatedly when the shared data folder is there (``GOLDMINE_SHARED_DATA``,
else ``<repo>/../shared/data``).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import awkward as ak
import numpy as np

from goldmine.io import lhe


def _peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _synthetic(n_events: int, n_weights: int, seed: int = 1) -> tuple[lhe.LHEInit, lhe.LHEEvents]:
    """e+ e- -> mu+ mu- like events: 4 particles, momenta balanced, ``n_weights`` weights."""
    rng = np.random.default_rng(seed)
    energy = 100.0
    cos_theta = rng.uniform(-1, 1, n_events)
    phi = rng.uniform(-np.pi, np.pi, n_events)
    sin_theta = np.sqrt(1 - cos_theta**2)
    out = np.stack([sin_theta * np.cos(phi), sin_theta * np.sin(phi), cos_theta], axis=1) * energy
    zeros = np.zeros(n_events)
    momenta = np.stack(
        [
            np.stack([zeros, zeros, zeros + energy], axis=1),
            np.stack([zeros, zeros, zeros - energy], axis=1),
            out,
            -out,
        ],
        axis=1,
    ).reshape(-1, 3)
    n = n_events * 4
    columns = {
        "pdgid": np.tile([11, -11, 13, -13], n_events),
        "status": np.tile([-1, -1, 1, 1], n_events),
        "mother1": np.tile([0, 0, 1, 1], n_events),
        "mother2": np.tile([0, 0, 2, 2], n_events),
        "color1": np.zeros(n, dtype=np.int64),
        "color2": np.zeros(n, dtype=np.int64),
        "px": momenta[:, 0],
        "py": momenta[:, 1],
        "pz": momenta[:, 2],
        "energy": np.full(n, energy),
        "mass": np.zeros(n),
        "lifetime": np.zeros(n),
        "spin": np.tile([1.0, -1.0, 1.0, -1.0], n_events),
    }
    particles = ak.unflatten(ak.zip(columns, depth_limit=1), np.full(n_events, 4))
    ids = tuple(f"theta_{i}" for i in range(n_weights))
    init = lhe.LHEInit((11, -11), (energy, energy), 3, np.array([1.23]), np.array([0.01]), np.array([1]), ids)
    events = lhe.LHEEvents(
        particles=particles,
        weight=np.full(n_events, 1.23 / n_events),
        scale=np.full(n_events, 2 * energy),
        aqed=np.full(n_events, 1 / 132.5),
        aqcd=np.full(n_events, 0.118),
        process_id=np.ones(n_events, dtype=np.int64),
        weights=rng.lognormal(size=(n_events, n_weights)) * 1.23 / n_events,
        weight_ids=ids,
    )
    return init, events


def _time(function, repeat: int = 1) -> float:
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def _shared_data() -> Path | None:
    env = os.environ.get("GOLDMINE_SHARED_DATA")
    folder = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"
    return folder if folder.is_dir() else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000, help="synthetic events (default 200000)")
    parser.add_argument("--weights", type=int, default=6, help="weights per synthetic event (default 6)")
    parser.add_argument("--repeat", type=int, default=2, help="timings per reading benchmark, best kept (default 2)")
    args = parser.parse_args(argv)

    rows: list[tuple[str, int, float, float]] = []
    init, events = _synthetic(args.events, args.weights)
    with tempfile.TemporaryDirectory() as folder:
        for suffix in (".lhe", ".lhe.gz"):
            path = Path(folder) / f"synthetic{suffix}"
            seconds = _time(lambda: lhe.write(path, init, events))
            rows.append((f"write {suffix}", args.events, seconds, _peak_rss_mib()))
            size = path.stat().st_size / 2**20
            seconds = _time(lambda: lhe.read(path), repeat=args.repeat)
            rows.append((f"read {suffix} ({size:.0f} MiB)", args.events, seconds, _peak_rss_mib()))
            seconds = _time(lambda: sum(len(c) for c in lhe.iterate(path, step_size=20_000)), repeat=args.repeat)
            rows.append((f"iterate {suffix} (step 20000)", args.events, seconds, _peak_rss_mib()))
        check = lhe.read(Path(folder) / "synthetic.lhe")
        assert np.allclose(check.weights, events.weights, rtol=1e-9, atol=0)

    shared = _shared_data()
    real = shared / "lhe" / "madgraph5-3.5.8-pp_to_jj.lhe.gz" if shared else None
    if real is not None and real.is_file():
        n = len(lhe.read(real))
        repeat = 5
        seconds = _time(lambda: [lhe.read(real) for _ in range(repeat)], repeat=args.repeat)
        rows.append((f"read pp_to_jj.lhe.gz x{repeat} (145 weights)", n * repeat, seconds, _peak_rss_mib()))
    else:
        print("(real MadGraph file not found: set GOLDMINE_SHARED_DATA)", file=sys.stderr)

    print(f"{'operation':<44} {'events':>9} {'seconds':>8} {'events/s':>10} {'peak RSS MiB':>13}")
    for label, n, seconds, rss in rows:
        print(f"{label:<44} {n:>9} {seconds:>8.3f} {n / seconds:>10.0f} {rss:>13.0f}")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"({os.cpu_count()} CPUs, load average {load}; seconds are the best of the repeats)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
