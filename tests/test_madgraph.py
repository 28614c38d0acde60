"""MadGraph's cards for one generation job, against hand-checked cards, and the workflow's plan.

MadGraph itself is not installed here (it runs in containers/generator): the cards and the
MG5 script are checked as text. The expected files in tests/data/madgraph/wh_ewdim6_job2 were
checked by hand: the param card is the template with dim6 2 and 5 (cwww, cpwww) at the
sampling benchmark b5 = (10, 10), every other line unchanged; the reweight card has one
`launch --rwgt_name=` per benchmark, in order, each with both `set dim6` lines; the run card
has iseed 1000 + 2, nevents 50000, event_norm sum and the systematics entries in MadGraph's
syntax; the script ends with the answers to every question of `launch`.
"""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import pytest

from goldmine import config as config_module
from goldmine import madgraph
from goldmine.exceptions import ConfigError

REPOSITORY = Path(__file__).resolve().parents[1]
EXPECTED = Path(__file__).parent / "data" / "madgraph" / "wh_ewdim6_job2"
EXAMPLE = REPOSITORY / "config" / "examples" / "madgraph_wh.yaml"
BENCHMARKS = {"sm": {"cwww": 0.0, "cpwww": 0.0}, "b1": {"cwww": 10.0, "cpwww": 0.0},
              "b2": {"cwww": 0.0, "cpwww": 10.0}, "b3": {"cwww": -10.0, "cpwww": 0.0},
              "b4": {"cwww": 0.0, "cpwww": -10.0}, "b5": {"cwww": 10.0, "cpwww": 10.0}}


@pytest.fixture
def wh_config(monkeypatch):
    monkeypatch.chdir(REPOSITORY)
    config = config_module.load(REPOSITORY / "config" / "config.yaml", EXAMPLE)
    config["process"]["cards"] = str(REPOSITORY / config["process"]["cards"])
    config["process"]["systematics"] = {"mur": [0.5, 1, 2], "muf": [0.5, 1, 2], "pdf": "errorset"}
    config["generation"]["sampling_benchmark"] = "b5"
    return config


def test_cards_of_the_wh_example_equal_the_hand_checked_ones(wh_config, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    written = madgraph.write_cards(wh_config, BENCHMARKS, 2, "job")
    assert [path.name for path in written] == ["param_card.dat", "reweight_card.dat", "run_card.dat",
                                               "pythia8_card.dat", "delphes_card.dat", "run.mg5"]
    for name in ("param_card.dat", "reweight_card.dat", "run_card.dat", "run.mg5"):
        assert (tmp_path / "job" / name).read_text() == (EXPECTED / name).read_text(), name
    cards = wh_config["process"]["cards"]
    for name in ("pythia8_card.dat", "delphes_card.dat"):  # copied as they are
        assert (tmp_path / "job" / name).read_text() == (Path(cards) / name).read_text()


def test_systematics_arguments_are_a_list_madgraph_reads(wh_config):
    # MadMiner #523 wrote "['--mur=b', '0.5', ...]": MadGraph parses the entry as a Python list of
    # options, each "--name=value" with a value its systematics module converts.
    card = (EXPECTED / "run_card.dat").read_text()
    value = re.search(r"^\s*(\[.*\])\s*=\s*systematics_arguments", card, flags=re.MULTILINE).group(1)
    arguments = ast.literal_eval(value)
    assert arguments == ["--mur=0.5,1,2", "--muf=0.5,1,2", "--pdf=errorset"]
    for argument in arguments[:2]:
        assert [float(x) for x in argument.split("=", 1)[1].split(",")] == [0.5, 1.0, 2.0]
    with pytest.raises(ConfigError, match="process.systematics.mur"):
        madgraph.systematics_arguments({"mur": "0.5, 1, 2"})
    with pytest.raises(ConfigError, match="no option --scale"):
        madgraph.systematics_arguments({"scale": "0.5"})


def test_the_script_answers_every_question_of_launch():
    # MadMiner #541 hung at a card prompt: here the switches and every card path are given and
    # closed by "done", and nothing follows (stdin is /dev/null in the workflow's rule).
    lines = (EXPECTED / "run.mg5").read_text().splitlines()
    after = lines[lines.index("launch job/process") + 1:]
    assert after[:5] == ["shower=Pythia8", "detector=Delphes", "madspin=OFF", "reweight=ON", "done"]
    assert after[5:-1] == [f"job/{card}" for card in ("run_card.dat", "param_card.dat", "reweight_card.dat",
                                                       "pythia8_card.dat", "delphes_card.dat")]
    assert after[-1] == "done"
    assert "output job/process -f" in lines  # -f: an existing process folder (a rerun) asks nothing


def test_a_param_card_entry_the_template_lacks_is_an_error_naming_it(wh_config):
    entries = {"cwww": ("dim6", 2), "cpwww": ("dim6", 7)}
    template = (Path(wh_config["process"]["cards"]) / "param_card.dat").read_text()
    with pytest.raises(ConfigError, match=r"param_card.dat: no entry 7 in block 'dim6'"):
        madgraph.param_card(template, entries, {"cwww": 1.0, "cpwww": 1.0})
    wh_config["process"]["lha"].pop("cpwww")
    with pytest.raises(ConfigError, match=r"process.lha.*\['cpwww'\]"):
        madgraph.lha_entries(wh_config)


def test_snakemake_plans_the_madgraph_analysis(tmp_path, snakemake):
    (tmp_path / "config").mkdir()
    shutil.copy(REPOSITORY / "config" / "config.yaml", tmp_path / "config" / "config.yaml")
    plan = snakemake("--snakefile", str(REPOSITORY / "Snakefile"), "--directory", str(tmp_path), "--configfile",
                     str(EXAMPLE), "--dry-run", timeout=120)
    assert plan.returncode == 0, plan.stderr[-3000:]
    stats = re.search(r"^Job stats:\n.*\n.*\n((?:\w+ +\d+\n)+)total", plan.stdout, flags=re.MULTILINE).group(1)
    jobs = {rule: int(count) for rule, count in (line.split() for line in stats.splitlines())}
    assert jobs == {"all": 1, "check": 1, "setup": 1, "cards": 4, "generate": 4, "detect": 4, "merge": 1, "mine": 1,
                    "train": 1, "infer": 1, "plot": 1, "summarise": 1}
    # The cards carry a Delphes card: MadGraph's job makes the Delphes file, which the detector reads.
    assert "output: results/madgraph_wh/lhe/1-of-4.lhe.gz, results/madgraph_wh/delphes/1-of-4.root" in plan.stdout
    assert re.search(r"input: .*results/madgraph_wh/delphes/1-of-4.root", plan.stdout)
