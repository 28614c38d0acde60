"""The workflow as REANA sees it: parsed without goldmine, by Snakemake 7.32 and 9.x, and its spec valid.

REANA parses the Snakefile in its own engine image, where goldmine is not installed, with
Snakemake 7.32; its client validates reana.yaml with the same Snakemake. The client's pins
(Snakemake 7.32, jsonschema 3.2) exclude goldmine's, so it lives in .venv-reana/ (`make reana-env`).
"""

import ast
import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from snakemake.utils import validate

from goldmine import config as config_module
from goldmine.ml import METHODS, family_of

REPOSITORY = Path(__file__).resolve().parents[1]
REANA_BIN = REPOSITORY / ".venv-reana" / "bin"
# What the workflow needs to parse: the files reana.yaml uploads.
WORKFLOW_FILES = ("Snakefile", "workflow", "config")
# Pip's words when the package index cannot be reached (the only reason to skip).
_UNREACHABLE = ("NewConnectionError", "Failed to establish a new connection", "Temporary failure in name resolution",
                "Network is unreachable", "No matching distribution found for reana-client")


@pytest.fixture(scope="module")
def reana_bin() -> Path:
    """The REANA client's environment, created by `make reana-env` when it is missing."""
    if not (REANA_BIN / "reana-client").exists():
        result = subprocess.run(["make", "-C", str(REPOSITORY), "reana-env"], capture_output=True, text=True,
                                timeout=900)
        if result.returncode != 0:
            output = result.stdout + result.stderr
            if any(text in output for text in _UNREACHABLE):
                pytest.skip(f"`make reana-env` cannot reach the package index: {output[-500:]}")
            raise AssertionError(f"`make reana-env` failed:\n{output[-3000:]}")
    return REANA_BIN


def _copy_workflow(directory: Path) -> None:
    """The files REANA uploads, symlinks resolved as an upload resolves them."""
    for name in (*WORKFLOW_FILES, "reana.yaml"):
        source = REPOSITORY / name
        if source.is_dir():
            shutil.copytree(source, directory / name)
        else:
            shutil.copy(source, directory / name)


def _job_counts(output: str) -> dict[str, int]:
    """Rule → jobs in the "Job stats" table of a dry run."""
    lines = output.split("Job stats:")[1].strip().splitlines()[2:]
    counts = {}
    for line in lines:
        rule, count = line.split()
        if rule == "total":
            return counts
        counts[rule] = int(count)
    raise AssertionError(f"no job stats in {output[-3000:]}")


# The default analysis: check, setup, 4 chunks × (generate, detect), merge, mine, 2 methods, infer, plot, all.
DEFAULT_JOBS = {"all": 1, "check": 1, "setup": 1, "generate": 4, "detect": 4, "merge": 1, "mine": 1, "train": 2,
                "infer": 1, "plot": 1, "summarise": 1}


def test_reana_client_validates_the_spec_and_parses_the_workflow_with_snakemake_7(reana_bin, tmp_path):
    # The proof that the Snakefile parses without goldmine: the client's environment has none.
    assert subprocess.run([reana_bin / "python", "-c", "import goldmine"], capture_output=True).returncode != 0
    version = subprocess.run([reana_bin / "snakemake", "--version"], capture_output=True, text=True)
    assert version.stdout.strip() == "7.32.4"
    _copy_workflow(tmp_path)
    result = subprocess.run([reana_bin / "reana-client", "validate", "--file", "reana.yaml"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "Valid REANA specification file" in output and "ERROR" not in output
    # reana-client validate runs Snakemake's dry run of the whole workflow.
    assert _job_counts(output) == DEFAULT_JOBS
    spec = yaml.safe_load((REPOSITORY / "reana.yaml").read_text())
    assert set(spec["inputs"]["files"] + spec["inputs"]["directories"]) == set(WORKFLOW_FILES)


def test_reana_outputs_are_outputs_of_rules(reana_bin, tmp_path):
    """What reana.yaml lists for download is what the rules write (the report needs `snakemake --report`)."""
    _copy_workflow(tmp_path)
    result = subprocess.run([reana_bin / "snakemake", "--dry-run", "--cores", "1", "--printshellcmds"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    spec = yaml.safe_load((REPOSITORY / "reana.yaml").read_text())
    outputs = spec["outputs"]
    for path in outputs["files"]:
        assert f" {path}" in result.stdout or f"{path}," in result.stdout, path
    for folder in outputs["directories"]:
        assert f"{folder}/" in result.stdout, folder
    assert {"results/ee_mumu/plots", "results/ee_mumu/inference"} <= set(outputs["directories"])


def test_snakefile_parses_with_snakemake_9_when_goldmine_cannot_be_imported(tmp_path):
    # A package named goldmine that refuses to load shadows the installed one.
    poison = tmp_path / "poison" / "goldmine"
    poison.mkdir(parents=True)
    (poison / "__init__.py").write_text("raise ImportError('goldmine imported while the workflow is parsed')\n")
    environment = dict(os.environ, PYTHONPATH=str(poison.parent))
    assert subprocess.run([sys.executable, "-c", "import goldmine"], env=environment).returncode != 0
    directory = tmp_path / "run"
    directory.mkdir()
    _copy_workflow(directory)
    result = subprocess.run([sys.executable, "-m", "snakemake", "--dry-run", "--cores", "1"], cwd=directory,
                            env=environment, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert _job_counts(result.stdout) == DEFAULT_JOBS
    # Parsing writes the effective configuration, and only that.
    assert [path.name for path in (directory / "results").rglob("*")] == ["ee_mumu", "config.yaml"]
    lint = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], cwd=directory, env=environment,
                          capture_output=True, text=True, timeout=300)
    assert lint.returncode == 0 and "Congratulations" in lint.stdout + lint.stderr, lint.stdout + lint.stderr


def test_every_rule_runs_a_shell_command_in_the_goldmine_image_and_environment():
    for path in (REPOSITORY / "workflow" / "rules").glob("*.smk"):
        for block in path.read_text().split("\nrule ")[1:]:
            name = block.split(":")[0]
            # MadGraph's job runs MG5_aMC, Pythia 8 and Delphes: the generator image, which no conda env replaces.
            software = (("container:\n        GENERATOR_IMAGE",) if (path.name, name) == ("madgraph.smk", "generate")
                        else ("container:\n        GOLDMINE_IMAGE", "conda:\n        GOLDMINE_ENV"))
            for directive in ("shell:", *software, "kubernetes_memory_limit="):
                assert directive in block, (path.name, name, directive)
            assert "run:" not in block and "script:" not in block, (path.name, name)
    environment = yaml.safe_load((REPOSITORY / "envs" / "goldmine.yaml").read_text())
    # The package from this checkout, with the pins of its pyproject.toml (and BoTorch, for the design rules).
    assert {"pip": ["../[design]"]} in environment["dependencies"]


def _common_definition(name: str):
    """The value of a top-level assignment in workflow/rules/common.smk (which parses as Python)."""
    tree = ast.parse((REPOSITORY / "workflow" / "rules" / "common.smk").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and [target.id for target in node.targets] == [name]:
            return eval(compile(ast.Expression(node.value), "common.smk", "eval"))  # a literal and a comprehension
    raise AssertionError(f"{name} is not defined in common.smk")


def test_the_workflow_knows_the_methods_and_families_of_goldmine():
    families = _common_definition("METHOD_FAMILIES")
    assert families == {method: family_of(method) for method in METHODS}
    schema = config_module.schema()
    assert set(schema["properties"]["training"]["properties"]["methods"]["items"]["enum"]) == set(METHODS)


def test_the_workflow_replaces_the_same_named_mappings_as_goldmine_check():
    # common.smk cannot import goldmine (REANA parses it without): its copy must stay equal.
    assert _common_definition("NAMED_MAPPINGS") == config_module.NAMED_MAPPINGS


def _snakemake_validated(config: dict) -> dict:
    config = copy.deepcopy(config)
    validate(config, str(REPOSITORY / "config" / "schema.yaml"))
    config.setdefault("name", config["process"]["name"])
    return config


def test_snakemake_fills_the_defaults_goldmine_fills():
    raw = yaml.safe_load((REPOSITORY / "config" / "config.yaml").read_text())
    assert _snakemake_validated(raw) == config_module.validate(raw)
    # A minimal configuration: only the required sections, training settings left to the defaults.
    minimal = {key: raw[key] for key in config_module.schema()["required"]}
    minimal["training"] = {"methods": ["sally", "alices", "nde"]}
    by_snakemake, by_goldmine = _snakemake_validated(minimal), config_module.validate(minimal)
    # Snakemake fills no default behind a $ref (the schema's training families): the workflow's params
    # then carry the family as written, and `goldmine check` writes the defaults for the commands.
    for family in ("local_score", "ratio", "density", "nuisance"):
        assert family not in by_snakemake["training"]
        del by_goldmine["training"][family]
    assert by_snakemake == by_goldmine


# The reinterpretation on REANA: the published sbottom archive, three regions in 4 blocks each.
REINTERPRET_JOBS = {"all": 1, "unpack": 1, "block": 12, "region": 3, "merge": 1}


def test_reana_client_validates_the_reinterpretation_spec_on_the_published_archive(reana_bin, shared_data,
                                                                                  tmp_path):
    spec = yaml.safe_load((REPOSITORY / "reana-reinterpret.yaml").read_text())
    assert spec["workflow"]["file"] in spec["inputs"]["files"]
    assert spec["inputs"]["parameters"]["input"] in spec["inputs"]["files"]
    # The upload as a user makes it: the repository's files and the archive as HEPData serves it.
    shutil.copy(REPOSITORY / "reana-reinterpret.yaml", tmp_path)
    for name in spec["inputs"]["files"]:
        source = REPOSITORY / name if (REPOSITORY / name).exists() else shared_data / name
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, tmp_path / name)
    result = subprocess.run([reana_bin / "reana-client", "validate", "--file", "reana-reinterpret.yaml"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "Valid REANA specification file" in output and "ERROR" not in output
    # Snakemake 7.32 read the patches of all three regions from the archive while parsing.
    assert _job_counts(output) == REINTERPRET_JOBS
    # What the spec lists for download is what the rules write (merge and region in reinterpret.smk):
    # the folder is named by the configuration's name.
    config = yaml.safe_load((tmp_path / spec["inputs"]["parameters"]["input"]).read_text())
    results = f"results/reinterpret/{config['name']}"
    assert set(spec["outputs"]["files"]) == {f"{results}/results.json", f"{results}/exclusion.png"}
    assert spec["outputs"]["directories"] == [f"{results}/regions"]
