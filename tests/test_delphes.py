"""The Delphes reader on a ROOT file with Delphes' tree layout, written here with uproot.

No real Delphes output exists on these machines; the file has Delphes' branch names and
split-collection layout (``Muon.PT`` … with ``Muon_size``, ``Weight.Weight``).
"""

import awkward as ak
import numpy as np
import pytest
import uproot

from goldmine import stages
from goldmine.detection import observables
from goldmine.detection.detector import MuonDetector
from goldmine.exceptions import DelphesError
from goldmine.io import events, lhe
from goldmine.io.delphes import iterate


def _float32(values):
    return ak.values_astype(ak.Array(values), np.float32)


def _write_delphes(path, muons, weights):
    """Muons as Delphes stores them (float32 PT/Eta/Phi, int Charge), one or two jets, MissingET
    and the LHE weights."""
    n = len(weights)
    rng = np.random.default_rng(3)
    n_jets = rng.integers(1, 3, n)
    jet_pt = ak.unflatten(rng.uniform(20, 60, n_jets.sum()), n_jets)
    branches = {
        "Muon": ak.zip({"PT": _float32(muons["pt"]), "Eta": _float32(muons["eta"]), "Phi": _float32(muons["phi"]),
                        "Charge": ak.values_astype(ak.Array(muons["charge"]), np.int32)}),
        "Jet": ak.zip({"PT": _float32(jet_pt), "Eta": _float32(jet_pt * 0), "Phi": _float32(jet_pt * 0),
                       "Mass": _float32(jet_pt * 0 + 5), "BTag": ak.values_astype(jet_pt * 0, np.int32)}),
        "MissingET": ak.zip({"MET": _float32(ak.unflatten(np.full(n, 12.5), np.ones(n, dtype=np.int64))),
                             "Phi": _float32(ak.unflatten(np.zeros(n), np.ones(n, dtype=np.int64)))}),
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
    with pytest.raises(DelphesError, match=r"missing Delphes branches \['Electron.PT'"):
        next(iterate(path, n_weights=6, collections=("Muon", "Electron")))
    not_delphes = tmp_path / "other.root"
    with uproot.recreate(not_delphes) as file:
        file["Events"] = {"x": np.zeros(3)}
    with pytest.raises(DelphesError, match="other.root: not a Delphes file"):
        next(iterate(not_delphes, n_weights=6))


def test_delphes_jets_and_missing_energy_reach_the_observables(analysis, delphes_file, tmp_path):
    import copy

    from goldmine import config as config_module

    path, _, weights = delphes_file
    config = copy.deepcopy(analysis.config)
    config["observables"] = ["cos_theta_mu_minus", {"n_jets": "count(jets)"}, {"met": "missing.pt"},
                             {"jet_pt": "leading(jets, 0).pt"}]
    output = tmp_path / "objects.h5"
    stages.detect(config_module.validate(config), analysis.setup, path, 0, output)
    sample = events.read(output)
    assert set(np.unique(sample.observations[:, 1])) == {1.0, 2.0}
    np.testing.assert_allclose(sample.observations[:, 2], 12.5, rtol=1e-6)
    assert np.all((sample.observations[:, 3] >= 20) & (sample.observations[:, 3] <= 60))


def test_inspect_says_a_delphes_file_is_one(delphes_file):
    from goldmine.io.inspection import inspect_file

    path, _, weights = delphes_file
    summary = inspect_file(path)
    assert (summary["kind"], summary["format"], summary["events"]) == ("delphes", "delphes-root", len(weights))
    assert "Muon" in summary["collections"]
