"""The Weinberg demo (config/weinberg.yaml, docs/design.md) in small: the design over √s with
sin²θ_W as the parameter, then sin²θ_W measured from pseudo-data at the recommended and at the
naive √s, through the same library calls as the workflow's jobs (workflow/rules/measurement.smk)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from goldmine import config as config_module
from goldmine import stages
from goldmine.cli import main
from goldmine.experiment.loop import run_design
from goldmine.experiment.measurement import measurement_configs, measurement_document, measurement_table
from goldmine.inference.analysis import run_inference
from goldmine.physics.parameters import build_finite_difference_space

pytest.importorskip("botorch")

SIN2_THETA_W = 0.23122


@pytest.fixture(scope="module")
def weinberg(tmp_path_factory):
    """The demo's configuration with few events: the design's 4 Sobol points (500 events each; the
    rounds after them are tests/test_design.py's), then 2000 test events per measured √s at
    3 pb⁻¹ (about 900 data events near the Z pole, fewer than the test events: they must know σ
    better than the data measure it, docs/observed.md; about 20 at 130 GeV), each range 4
    expected standard deviations around the truth."""
    directory = tmp_path_factory.mktemp("weinberg")
    config = config_module.load("config/config.yaml", "config/weinberg.yaml")
    config["design"] |= {"events": 500, "initial_points": 4, "rounds": 0}
    config["measurement"] |= {"events": 2000, "span": 4.0}
    config["inference"] |= {"luminosity": 3.0, "grid_points": 41}
    stages.setup(config, directory / "setup.h5")
    design = run_design(config, directory / "setup.h5")
    limits = {}
    for label, changed in measurement_configs(config, design, directory / "setup.h5").items():
        setup = directory / f"{label}-setup.h5"
        stages.setup(changed, setup)
        for chunk, sample in enumerate(("test", "pool"), start=1000 + 2 * ("chosen", "naive").index(label)):
            lhe, detected = directory / f"{label}-{sample}.lhe.gz", directory / f"{label}-{sample}.h5"
            stages.generate(changed, setup, chunk, lhe)
            stages.detect(changed, setup, lhe, chunk, detected)
        stages.pseudodata(directory / f"{label}-pool.h5", config["measurement"]["truth"],
                          config["inference"]["luminosity"], config["measurement"]["seed"],
                          directory / f"{label}-data.h5")
        limits[label] = run_inference(changed, directory / f"{label}-test.h5", {},
                                      data_file=directory / f"{label}-data.h5")["limits"]
    return config, design, limits


def test_the_interval_at_the_recommended_energy_is_narrower_and_contains_the_truth(weinberg):
    """The design's recommendation (4 evaluations over 60–130 GeV) lies near the Z pole, where the
    information about sin²θ_W per pb⁻¹ is largest (docs/parameters.md: 1.1·10⁵ at the pole
    against 15 at 200 GeV), and the measurement there is far more precise than at the naive
    130 GeV: the expected widths differ by √(F ratio), over 10 (docs/design.md); asked: 5 times.
    Both observed intervals (exact likelihood) contain the truth at 95% CL (one seeded draw
    each; the coverage itself is tests/test_observed.py's)."""
    config, design, limits = weinberg
    assert len(design["history"]) == 4
    assert 80.0 < design["recommendation"]["setting"] < 100.0
    document = measurement_document(config, design, limits)
    widths = {label: document[label]["intervals"]["observed"]["68"]["sin2_theta_w"]["width"]
              for label in ("chosen", "naive")}
    assert widths["chosen"] is not None and widths["naive"] is not None
    assert widths["naive"] > 5 * widths["chosen"], widths
    for label in ("chosen", "naive"):
        assert document[label]["contains_truth"]["95"]["sin2_theta_w"], (label, document[label])
        # the observed width scatters around the expected one (data and test sample fluctuate): within 30%
        expected = document[label]["intervals"]["expected"]["68"]["sin2_theta_w"]["width"]
        assert widths[label] == pytest.approx(expected, rel=0.3), label
    assert document["meta"]["truth"] == [SIN2_THETA_W]
    assert "chosen" in measurement_table(document) and json.dumps(document)


def test_finite_difference_grid_benchmarks_give_the_weights_on_the_grid():
    """With grid benchmarks, the space knows the weights at every grid point and nowhere else."""
    space = build_finite_difference_space(("s",), {"s": (0.2, 0.3)}, (0.25,), 1e-4, grid_points=5)
    space.weights_known_at(np.linspace(0.2, 0.3, 5)[:, None], "a scan")
    with pytest.raises(Exception, match="finite_differences.grid"):
        space.weights_known_at(np.array([[0.21]]), "a scan")


def test_design_compare_writes_the_measurement_and_refuses_limits_without_data(weinberg, tmp_path):
    """`goldmine design compare` (the workflow's last job): measurement.json, its table and plot;
    a limits.json without an observed result (infer without --data) is one line, no traceback."""
    config, design, limits = weinberg
    config_file, design_file = tmp_path / "config.yaml", tmp_path / "design.json"
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    design_file.write_text(json.dumps(design))
    for label, document in limits.items():
        (tmp_path / f"{label}.json").write_text(json.dumps(document))
    arguments = ["design", "compare", "--config", str(config_file), "--design", str(design_file),
                 "--chosen", str(tmp_path / "chosen.json"), "--naive", str(tmp_path / "naive.json"),
                 "-o", str(tmp_path / "measurement.json"), "--plot", str(tmp_path / "measurement.png"),
                 "--table", str(tmp_path / "measurement.txt")]
    result = CliRunner().invoke(main, arguments)
    assert result.exit_code == 0, result.output
    written = json.loads((tmp_path / "measurement.json").read_text())
    assert written["chosen"]["best_fit"] == measurement_document(config, design, limits)["chosen"]["best_fit"]
    assert (tmp_path / "measurement.pdf").is_file() and result.output == (tmp_path / "measurement.txt").read_text()
    without = dict(limits["naive"], methods={m: {k: v for k, v in e.items() if k != "observed"}
                                             for m, e in limits["naive"]["methods"].items()})
    (tmp_path / "naive.json").write_text(json.dumps(without))
    refused = CliRunner().invoke(main, arguments)
    assert refused.exit_code == 1 and "no observed result of 'exact'" in refused.output
    assert "Traceback" not in refused.output
