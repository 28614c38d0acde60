"""A goldmine signal in the published ATLAS sbottom analysis: its patches and the CLs over θ."""

from __future__ import annotations

import copy
import json

import jsonpatch
import numpy as np
import pyhf
import pytest

from goldmine import stages
from goldmine.exceptions import ReinterpretError
from goldmine.io import events
from goldmine.publish.reinterpret import load_patches, reinterpret
from goldmine.publish.signal import BinMap, signal_patch

# cos θ of the μ⁻ onto the three bins of RegionA's signal region (observed 12, 3, 2 events on
# about 9.8, 6.0, 3.1 expected): a luminosity of 2 pb⁻¹ gives the default e⁺e⁻ → μ⁺μ⁻ analysis a
# few events per bin, where CLs is neither 0 nor 1.
MAPPING = {"hepdata": "ins1748602", "observable": "cos_theta_mu_minus", "luminosity": 2.0, "grid_points": 3,
           "bins": {"SR_meff": [[-1.0, -0.3], [-0.3, 0.3], [0.3, 1.0]]}}


@pytest.fixture(scope="module")
def background(sbottom_likelihoods):
    return sbottom_likelihoods("RegionA/BkgOnly.json") / "RegionA" / "BkgOnly.json"


@pytest.fixture(scope="module")
def patches(analysis, background, tmp_path_factory):
    config = copy.deepcopy(analysis.config) | {"reinterpret": MAPPING}
    output = tmp_path_factory.mktemp("signal") / "patchset.json"
    assert stages.signal_patches(config, analysis.events, background, output) == 9
    return json.loads(output.read_text())


def test_yields_at_a_benchmark_are_the_histogram_of_its_own_weights(analysis, background, patches):
    document = json.loads(background.read_text())
    # θ = 0 is the sm benchmark: its yields need no morphing, only its own weight column.
    (sm,) = [p for p in patches["patches"] if p["metadata"]["values"] == [0.0, 0.0]]
    data = events.read(analysis.events)
    space = events.read_parameter_space(analysis.events)
    column = events.read_observable_names(analysis.events).index("cos_theta_mu_minus")
    weights = data.weights[:, space.benchmark_names.index("sm")]
    expected, _ = np.histogram(data.observations[:, column], bins=[-1.0, -0.3, 0.3, 1.0], weights=weights)
    (operation,) = sm["patch"]
    # Morphing reproduces a benchmark's weights to round-off (1e-10 is its validation target).
    np.testing.assert_allclose(operation["value"]["data"], 2.0 * expected, rtol=1e-10)
    assert 0.5 < min(operation["value"]["data"]) and sum(operation["value"]["data"]) < 10.0  # a few events
    # The patch makes a valid workspace whose signal scales with the published POI.
    workspace = pyhf.Workspace(jsonpatch.apply_patch(document, sm["patch"]))
    model = workspace.model()
    assert model.config.poi_name == "mu_SIG" and "goldmine_signal" in model.config.samples


def test_more_signal_in_every_bin_is_excluded_more_strongly(background, patches, tmp_path):
    path = tmp_path / "patchset.json"
    path.write_text(json.dumps(patches))
    results = reinterpret(json.loads(background.read_text()), load_patches([str(path)]), workers=1, progress=False)
    yields = {p["metadata"]["name"]: np.array(p["patch"][0]["value"]["data"]) for p in patches["patches"]}
    assert all(result["status"] == "ok" for result in results.values())
    grid = {(a, b) for a in (-0.2, 0.0, 0.2) for b in (-0.2, 0.0, 0.2)}
    assert {tuple(r["masses"]) for r in results.values()} == grid
    compared = 0
    for one, first in results.items():
        for other, second in results.items():
            if np.all(yields[one] > yields[other] * 1.01):  # 1% more in every bin: a real difference
                assert first["CLs_obs"] < second["CLs_obs"] and first["CLs_exp"][2] < second["CLs_exp"][2]
                compared += 1
    assert compared >= 3


def test_a_channel_the_workspace_lacks_or_a_wrong_bin_count_is_an_error(background):
    document = json.loads(background.read_text())
    with pytest.raises(ReinterpretError, match="no channel 'SR_metsig'"):
        signal_patch(document, {"SR_metsig": [1.0, 1.0, 1.0]})
    with pytest.raises(ReinterpretError, match="SR_meff': 2 bins, the workspace's channel has 3"):
        signal_patch(document, {"SR_meff": [1.0, 1.0]})
    with pytest.raises(ReinterpretError, match="overlaps"):
        BinMap({"SR_meff": [[0.0, 0.5], [0.4, 1.0], None]}).index(np.array([0.45]))
