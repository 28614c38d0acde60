"""Throughput of the shower, the detector and the observables, and memory in chunks.

Measures, on one core, for ee_mumu events of the default analysis:
- Pythia 8 shower (QED FSR, no hadronisation) events/s;
- detector + observables events/s on parton-level events;
- the LEP-like card detector (muons, electrons, photons, Durham jets, missing momentum) on showered events;
- peak resident memory while 10⁶ events stream through generation → detector in chunks of
  10⁵ (it must not grow with the number of events).

Usage: python benchmarks/bench_shower_detector.py [--events 1000000]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from goldmine.detection import observables
from goldmine.detection.cards import load_card
from goldmine.detection.detector import MuonDetector
from goldmine.generation import generate, generate_lhe
from goldmine.io import events
from goldmine.physics.parameters import build_parameter_space
from goldmine.physics.processes import EEMuMu
from goldmine.shower import shower

OBSERVABLES = list(observables.DEFINITIONS)
REPOSITORY = Path(__file__).resolve().parents[1]


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=100_000)
    arguments = parser.parse_args()
    process = EEMuMu()
    space = build_parameter_space(process.parameter_names, [(-0.2, 0.2)] * 2, (2, 2), 2, n_trials=200)
    detector = MuonDetector()
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as directory:
        lhe_file = Path(directory) / "shower.lhe.gz"
        generate_lhe(lhe_file, process, space, 20_000, seed=1)
        start = time.perf_counter()
        showered = list(shower(lhe_file, ["PartonLevel:ISR = off", "HadronLevel:all = off"], seed=2))
        shower_rate = sum(len(block) for block in showered) / (time.perf_counter() - start)
        card = load_card(REPOSITORY / "config" / "processes" / "detectors" / "lep.yaml")
        start = time.perf_counter()
        n_card = 0
        for block in showered:
            card.reconstruct(block.particles, rng)
            n_card += len(block)
        card_rate = n_card / (time.perf_counter() - start)

    rss_after_first_chunk = None
    detector_seconds = 0.0
    n_detected = 0
    for chunk in range(arguments.events // arguments.chunk):
        _, parton = generate(process, space, arguments.chunk, seed=100 + chunk)
        start = time.perf_counter()
        muons = detector.reconstruct(parton.particles, rng)
        block = events.Events(observables.compute(OBSERVABLES, muons), parton.weights[muons.accepted],
                              np.zeros(int(muons.accepted.sum()), dtype=np.int64))
        detector_seconds += time.perf_counter() - start
        n_detected += len(parton)
        del block, muons, parton
        if rss_after_first_chunk is None:
            rss_after_first_chunk = _peak_rss_mib()
    print(f"{'stage':<34}{'events/s per core':>20}")
    print(f"{'shower (Pythia 8, QED FSR)':<34}{shower_rate:>20.0f}")
    print(f"{'detector + 7 observables':<34}{n_detected / detector_seconds:>20.0f}")
    print(f"{'LEP card (μ, e, γ, Durham jets, MET)':<34}{card_rate:>20.0f}")
    print(f"peak RSS after the first chunk of {arguments.chunk}: {rss_after_first_chunk:.0f} MiB; "
          f"after {n_detected} events: {_peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    sys.exit(main())
