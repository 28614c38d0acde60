"""Jets: FastJet on Pythia-showered real MadGraph pp → jj events and on e+e- events."""

import awkward as ak
import numpy as np
import pytest

from goldmine.detection.jets import cluster, visible
from goldmine.io import lhe
from goldmine.shower import shower


@pytest.fixture(scope="module")
def dijets(shared_data):
    path = shared_data / "lhe" / "madgraph5-3.5.8-pp_to_jj.lhe.gz"
    partons = lhe.read(path).particles
    settings = ["PartonLevel:MPI = off", "PartonLevel:ISR = off", "HadronLevel:all = on"]
    blocks = list(shower(path, settings, seed=11))
    return partons, blocks


def test_anti_kt_jets_follow_the_partons_of_a_real_madgraph_file(dijets):
    partons, blocks = dijets
    particles = ak.concatenate([b.particles for b in blocks])
    index = np.concatenate([b.lhe_index for b in blocks])
    jets = cluster(visible(particles), {"algorithm": "antikt", "radius": 0.4, "min_pt": 10.0})
    outgoing = partons[index][partons[index].status == 1]
    parton_pt = np.sort(np.hypot(ak.to_numpy(outgoing.px), ak.to_numpy(outgoing.py)), axis=1)[:, ::-1]
    has_two = ak.to_numpy(ak.num(jets)) >= 2
    assert np.mean(has_two) > 0.8  # partons of p_T ≈ 20 GeV: some jets fall below 10 GeV
    jet_pt = np.hypot(ak.to_numpy(jets.px[has_two][:, 0]), ak.to_numpy(jets.py[has_two][:, 0]))
    response = jet_pt / parton_pt[has_two, 0]
    # Final-state radiation and hadronisation outside R = 0.4 lose a few percent of the parton p_T.
    assert 0.8 < np.median(response) < 1.0  # measured 0.86
    assert np.corrcoef(jet_pt, parton_pt[has_two, 0])[0, 1] > 0.9


def test_durham_clusters_an_ee_event_into_exactly_n_jets():
    rng = np.random.default_rng(1)
    n_events, n_particles = 50, 20
    directions = rng.normal(size=(n_events, n_particles, 3))
    # Two back-to-back sprays along ±z.
    directions[:, : n_particles // 2, 2] += 8
    directions[:, n_particles // 2 :, 2] -= 8
    momenta = directions / np.linalg.norm(directions, axis=2, keepdims=True) * 5.0
    particles = ak.zip({"px": momenta[..., 0], "py": momenta[..., 1], "pz": momenta[..., 2],
                       "energy": np.full((n_events, n_particles), 5.0)})
    jets = cluster(particles, {"algorithm": "durham", "n_jets": 2})
    assert np.all(ak.to_numpy(ak.num(jets)) == 2)
    np.testing.assert_allclose(ak.to_numpy(ak.sum(jets.E, axis=1)), 5.0 * n_particles)
    assert np.all(ak.to_numpy(jets.pz[:, 0] * jets.pz[:, 1]) < 0)  # one jet per hemisphere
