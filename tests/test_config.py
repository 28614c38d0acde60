"""The configuration: schema validation with messages that name key, value and what is allowed."""

import copy
from pathlib import Path

import pytest

from goldmine.config import load, validate
from goldmine.exceptions import ConfigError

DEFAULT = Path(__file__).parents[1] / "config" / "config.yaml"


@pytest.fixture
def config():
    return load(DEFAULT)


def test_default_config_is_valid_and_defaults_are_filled(config):
    assert config["process"]["name"] == "ee_mumu"
    assert config["morphing"]["n_trials"] > 0
    assert config["process"]["couplings"]["z_mass"] == pytest.approx(91.1876)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda c: c["process"].update(sqrt_s=-1), "'process.sqrt_s': value -1"),
        (lambda c: c["process"].update(name="pp_tt"), "'process.name': 'pp_tt' is not allowed; allowed values are"),
        (lambda c: c["generation"].update(chunk=3), "unknown key(s) ['chunk']; allowed keys are"),
        (lambda c: c["training"]["local_score"].update(activation="sigmoid"), "'training.local_score.activation'"),
        (lambda c: c["process"]["parameters"].update(c_vv=[0.1, -0.1]), "must have low < high"),
        (lambda c: c["process"].update(parameters={"c_xx": [-1, 1]}), "has the parameters ['c_vv', 'c_aa'], got ['c_xx']"),
        (lambda c: c["inference"]["histogram"].update(observables=["cos_theta_star"]), "not among the observables"),
    ],
)
def test_bad_values_name_the_key_the_value_and_what_is_allowed(config, change, expected):
    bad = copy.deepcopy(config)
    change(bad)
    with pytest.raises(ConfigError) as error:
        validate(bad)
    assert expected in str(error.value)


def test_load_names_the_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("process: [unclosed")
    with pytest.raises(ConfigError, match="broken.yaml"):
        load(path)
