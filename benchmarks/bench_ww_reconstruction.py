"""Benchmark of the semileptonic WW reconstruction (goldmine.detection.ww) against the generator's truth.

Run as ``python benchmarks/bench_ww_reconstruction.py [--events N]``. Generates ee → WW → ℓνqq̄ at
189 GeV, showers it with the settings of config/ee_ww.yaml, reconstructs it on the LEP-like card
and prints the selection efficiency (binomial error), the neutrino's and the hadronic W mass's
bias and 68% half-width against the truth (with and without the W-mass constraint), the jet–quark
angles, the correlation of each reconstructed LEP angle with its true value, and the speed.
The figures in docs/ee_ww.md ("Detector-level analysis") and the test bounds come from here.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import awkward as ak
import numpy as np
import vector

from goldmine.detection.cards import load_card
from goldmine.detection.observables import leading
from goldmine.detection.ww import SemileptonicWW
from goldmine.generation import generate_lhe
from goldmine.io import lhe
from goldmine.physics.parameters import build_parameter_space
from goldmine.physics.processes import EEWW
from goldmine.physics.ww_angles import ww_angles
from goldmine.shower import shower


def _momenta(records: ak.Array, index: int = 0) -> vector.MomentumNumpy4D:
    return vector.array({component: ak.to_numpy(records[source][:, index]).astype(float)
                         for component, source in (("px", "px"), ("py", "py"), ("pz", "pz"), ("E", "energy"))})


def _rows(momenta: vector.MomentumNumpy4D) -> np.ndarray:
    return np.column_stack([momenta.E, momenta.px, momenta.py, momenta.pz])


def _summary(values: np.ndarray) -> str:
    low, median, high = np.percentile(values, [16, 50, 84])
    return f"median {median:+.2f}, 68% half-width {0.5 * (high - low):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20_000)
    arguments = parser.parse_args()
    process = EEWW(sqrt_s=189.0)
    space = build_parameter_space(process.parameter_names, [(-0.2, 0.2)] * 3, process.max_powers,
                                  process.max_overall_power, n_trials=20)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "ww.lhe.gz"
        generate_lhe(path, process, space, arguments.events, seed=101)
        start = time.perf_counter()
        blocks = list(shower(path, ["PartonLevel:ISR = off", "TimeShower:QEDshowerByL = off"], seed=102))
        showered = time.perf_counter() - start
        truth = lhe.read(path).particles
    detector = SemileptonicWW(load_card("config/processes/detectors/lep.yaml"), sqrt_s=189.0)
    final_state = truth[truth.status == 1]

    def run(chosen: SemileptonicWW):
        rng = np.random.default_rng(103)
        start = time.perf_counter()
        events = [(block, chosen.reconstruct(block.particles, rng)) for block in blocks]
        seconds = time.perf_counter() - start
        accepted = np.concatenate([event.accepted for _, event in events])
        index = np.concatenate([block.lhe_index[event.accepted] for block, event in events])

        def stack(collection, position=0):
            objects = [leading(event.collections[collection], position) for _, event in events]
            return vector.array({c: np.concatenate([getattr(o, c) for o in objects]) for c in ("px", "py", "pz", "E")})

        reconstructed = {"lepton": stack("leptons"), "neutrino": stack("neutrinos"), "jet_1": stack("jets"),
                         "jet_2": stack("jets", 1),
                         "charge": np.concatenate([ak.to_numpy(event.collections["leptons"].charge[:, 0])
                                                   for _, event in events])}
        final = final_state[index]
        flavour = abs(final.pdgid)
        true = {"neutrino": _momenta(final[(flavour == 12) | (flavour == 14)]),
                "lepton": _momenta(final[(flavour == 11) | (flavour == 13)]),
                "quarks": [_momenta(final[flavour < 6], i) for i in (0, 1)]}
        return accepted, seconds, reconstructed, true

    accepted, reconstruction_seconds, fitted, true = run(detector)
    _, _, unfitted, true_unfitted = run(dataclasses.replace(detector, w_mass_constraint=False))
    efficiency = accepted.mean()
    print(f"{arguments.events} events: shower {arguments.events / showered:.0f} events/s, "
          f"reconstruction {arguments.events / reconstruction_seconds:.0f} events/s")
    print(f"selection efficiency {efficiency:.4f} ± {np.sqrt(efficiency * (1 - efficiency) / len(accepted)):.4f}")
    lepton, neutrino, jet_1, jet_2 = (fitted[name] for name in ("lepton", "neutrino", "jet_1", "jet_2"))
    true_neutrino, true_lepton, quarks = true["neutrino"], true["lepton"], true["quarks"]
    missing, missing_truth = unfitted["neutrino"], true_unfitted["neutrino"]
    print(f"neutrino E − true, with the W-mass constraint: {_summary(neutrino.E - true_neutrino.E)} GeV")
    print(f"neutrino E − true, missing momentum only:      {_summary(missing.E - missing_truth.E)} GeV")
    print(f"neutrino px − true, with / without:            {_summary(neutrino.px - true_neutrino.px)} / "
          f"{_summary(missing.px - missing_truth.px)} GeV")
    print(f"neutrino angle to the true one, median:        {np.median(neutrino.deltaangle(true_neutrino)):.3f} / "
          f"{np.median(missing.deltaangle(missing_truth)):.3f} rad")
    hadronic = (quarks[0] + quarks[1]).mass
    print(f"m_jj − m(qq̄):                                  {_summary((jet_1 + jet_2).mass - hadronic)} GeV")
    straight = jet_1.deltaangle(quarks[0]) + jet_2.deltaangle(quarks[1])
    crossed = jet_1.deltaangle(quarks[1]) + jet_2.deltaangle(quarks[0])
    print(f"jets to quarks, summed angle of the better pairing, median: "
          f"{np.median(np.minimum(straight, crossed)):.3f} rad")
    charge = fitted["charge"]
    reconstructed_angles = ww_angles(_rows(lepton), _rows(neutrino), _rows(jet_1), _rows(jet_2), charge)
    true_angles = ww_angles(_rows(true_lepton), _rows(true_neutrino), _rows(quarks[0]), _rows(quarks[1]), charge)
    for name, values in reconstructed_angles.items():
        difference = values - true_angles[name]
        if name.startswith("phi"):
            difference = np.pi - np.mod(np.pi - difference, 2.0 * np.pi)
        print(f"{name}: correlation with the truth {np.corrcoef(values, true_angles[name])[0, 1]:.3f}, "
              f"68% half-width of the difference {0.5 * np.diff(np.percentile(difference, [16, 84]))[0]:.3f}")


if __name__ == "__main__":
    main()
