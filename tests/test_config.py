"""The configuration: schema validation with messages that name key, value and what is allowed."""

import copy
from pathlib import Path

import pytest
import yaml

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
        (lambda c: c["process"].update(parameters={"c_xx": [-1, 1]}),
         "has the parameters ['c_vv', 'c_aa', 'sin2_theta_w'] (distinct, at least one), got ['c_xx']"),
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


def test_name_defaults_to_the_process_and_must_be_a_safe_folder_name(config):
    unnamed = {key: value for key, value in config.items() if key != "name"}
    assert validate(unnamed)["name"] == "ee_mumu"
    for bad in ("../other", "a/b", ".hidden", ""):
        with pytest.raises(ConfigError, match="config key 'name'"):
            validate(dict(config, name=bad))


@pytest.mark.parametrize(
    ("card", "expected"),
    [
        ({"muon": {"efficiency": "__import__('os')", "momentum_resolution": "0.01", "angle_resolution": "0.001"}},
         "muon: expression"),
        ({"muon": {"efficiency": "1.0"}}, "needs efficiency, momentum_resolution and angle_resolution"),
        ({"electron": {"efficiency": "1.0", "momentum_resolution": "0.01", "angle_resolution": "0.001"}},
         "no muon entry"),
        (None, "cannot read the card"),
    ],
)
def test_a_bad_detector_card_fails_validation(config, tmp_path, card, expected):
    path = tmp_path / "card.yaml"
    if card is not None:
        path.write_text(yaml.safe_dump(card))
    with pytest.raises(ConfigError) as error:
        validate(dict(config, detector=dict(config["detector"], card=str(path))))
    assert "config key 'detector.card'" in str(error.value) and expected in str(error.value)


def test_the_ww_reconstruction_needs_a_card():
    config = load(DEFAULT, DEFAULT.parent / "ee_ww.yaml")
    config["detector"].pop("card")
    with pytest.raises(ConfigError, match="'detector.semileptonic_ww' needs 'detector.card'"):
        validate(config)
