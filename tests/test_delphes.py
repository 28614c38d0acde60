"""The Delphes reader on a ROOT file with Delphes' tree layout, written here with uproot.

No real Delphes output exists on these machines; the file has Delphes' branch names and
split-collection layout (``Muon.PT`` … with ``Muon_size``, ``Weight.Weight``).
"""

import awkward as ak
import numpy as np
import pytest
import uproot

from goldmine import events, lhe, observables, stages
from goldmine.delphes import DelphesError, iterate
from goldmine.detector import MuonDetector


def _write_delphes(path, muons, weights):
    """Muons as Delphes stores them (float32 PT/Eta/Phi, int Charge) and the LHE weights."""
    branches = {
        "Muon": ak.zip({"PT": ak.values_astype(ak.Array(muons["pt"]), np.float32),
                        "Eta": ak.values_astype(ak.Array(muons["eta"]), np.float32),
                        "Phi": ak.values_astype(ak.Array(muons["phi"]), np.float32),
                        "Charge": ak.values_astype(ak.Array(muons["charge"]), np.int32)}),
        "Weight": ak.zip({"Weight": ak.Array(weights.astype(np.float32).tolist())}),
    }
    with uproot.recreate(path) as file:
        file.mktree("Delphes", {name: array.type for name, array in branches.items()},
                    field_name=lambda outer, inner: f"{outer}.{inner}", counter_name=lambda counted: f"{counted}_size")
        file["Delphes"].extend(branches)


@pytest.fixture(scope="module")
def delphes_file(analysis, tmp_path_factory):
    """Detector-level muons of chunk 0, as Delphes would write them (μ⁻ first, then μ⁺)."""
    lhe_events = lhe.read(analysis.directory / "chunk0.lhe.gz")
    reconstructed = MuonDetector.from_config(analysis.config["detector"]).reconstruct(
        lhe_events.particles, np.random.default_rng(1))
    minus, plus = reconstructed.mu_minus, reconstructed.mu_plus
    muons = {key: [[a, b] for a, b in zip(x, y)] for key, x, y in (
        ("pt", minus.pt, plus.pt), ("eta", minus.eta, plus.eta), ("phi", minus.phi, plus.phi),
        ("charge", -np.ones(len(minus)), np.ones(len(plus))))}
    path = tmp_path_factory.mktemp("delphes") / "delphes.root"
    weights = lhe_events.weights[reconstructed.accepted]
    _write_delphes(path, muons, weights)
    return path, reconstructed, weights


def test_delphes_layout_is_read_into_the_same_observables(analysis, delphes_file, tmp_path):
    path, reconstructed, weights = delphes_file
    output = tmp_path / "from_delphes.h5"
    n = stages.detect(analysis.config, analysis.setup, path, 0, output)
    assert n == len(weights)
    sample = events.read(output)
    names = list(analysis.config["observables"])
    expected = observables.compute(names, reconstructed)
    np.testing.assert_allclose(sample.observations, expected, rtol=2e-4, atol=2e-4)  # float32 in ROOT
    np.testing.assert_allclose(sample.weights, weights, rtol=1e-6)


def test_delphes_errors_name_the_file_and_what_is_wrong(analysis, delphes_file, tmp_path):
    path, _, weights = delphes_file
    with pytest.raises(DelphesError, match=r"delphes.root: event 0 has 6 weights, expected 5"):
        next(iterate(path, n_weights=5, collections=("Muon",)))
    with pytest.raises(DelphesError, match=r"missing Delphes branches \['Jet.PT'"):
        next(iterate(path, n_weights=6, collections=("Muon", "Jet")))
    not_delphes = tmp_path / "other.root"
    with uproot.recreate(not_delphes) as file:
        file["Events"] = {"x": np.zeros(3)}
    with pytest.raises(DelphesError, match="other.root: not a Delphes file"):
        next(iterate(not_delphes, n_weights=6))
