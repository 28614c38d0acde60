"""Observables, cuts and efficiencies defined in the config as expressions."""

import copy

import numpy as np
import pytest

from goldmine import config as config_module
from goldmine import stages
from goldmine.exceptions import ConfigError
from goldmine.io import events


@pytest.fixture(scope="module")
def detected(analysis, tmp_path_factory):
    """Chunk 0 through the detector with built-in and expression observables side by side."""
    config = copy.deepcopy(analysis.config)
    config["observables"] = ["m_mumu", "delta_phi", "cos_theta_mu_minus",
                             {"m_expression": "(mu_minus + mu_plus).mass"},
                             {"delta_phi_expression": "abs(mu_minus.deltaphi(mu_plus))"},
                             {"pt_sum": "mu_minus.pt + mu_plus.pt"},
                             {"pt_sum_function": {"function": "goldmine.detection.observables:transverse_momentum_sum"}}]
    config = config_module.validate(config)
    output = tmp_path_factory.mktemp("observables") / "events.h5"
    stages.detect(config, analysis.setup, analysis.directory / "chunk0.lhe.gz", 0, output)
    return config, output


def test_expression_observables_equal_the_built_in_ones(detected):
    _, output = detected
    sample = events.read(output)
    assert events.read_observable_definitions(output)[3] == "(mu_minus + mu_plus).mass"
    np.testing.assert_allclose(sample.observations[:, 3], sample.observations[:, 0], rtol=1e-12)
    np.testing.assert_allclose(sample.observations[:, 4], sample.observations[:, 1], rtol=1e-12)
    assert np.all(sample.observations[:, 5] > 0)
    np.testing.assert_allclose(sample.observations[:, 6], sample.observations[:, 5], rtol=1e-12)


def test_cuts_select_and_efficiencies_weight(detected, analysis, tmp_path):
    config, output = detected
    reference = events.read(output)
    cut = copy.deepcopy(config)
    cut["cuts"] = ["abs(mu_minus.costheta) < 0.5"]
    cut["efficiencies"] = ["0.5 * (mu_minus.costheta > 0) + 1.0 * (mu_minus.costheta <= 0)"]
    selected_file = tmp_path / "selected.h5"
    stages.detect(config_module.validate(cut), analysis.setup, analysis.directory / "chunk0.lhe.gz", 0,
                  selected_file)
    selected = events.read(selected_file)
    cos_theta = reference.observations[:, 2]
    inside = np.abs(cos_theta) < 0.5
    np.testing.assert_array_equal(selected.observations, reference.observations[inside])
    factor = np.where(cos_theta[inside] > 0, 0.5, 1.0)[:, None]
    np.testing.assert_allclose(selected.weights, reference.weights[inside] * factor, rtol=1e-12)


@pytest.mark.parametrize(("entry", "message"), [
    ({"bad": "mu_minus.__class__"}, "expression"), ({"bad": "electron.pt"}, "unknown name 'electron'"),
    ({"bad": "open('x')"}, "expression"), ({"bad": {"function": "goldmine.nothing:here"}}, "cannot be imported"),
    ({"bad": {"expression": "mu_minus.pt", "unit": "[GeV]"}}, "not allowed"),  # the brackets are the plot's
    ({"bad": {"unit": "GeV"}}, "not allowed"),
])
def test_bad_observables_stop_the_config(analysis, entry, message):
    config = copy.deepcopy(analysis.config)
    config["observables"] = ["m_mumu", entry]
    with pytest.raises(ConfigError, match=message):
        config_module.validate(config)
