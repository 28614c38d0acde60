"""The README's examples work: every fenced ``bash`` and ``python`` block runs, every fenced
``yaml`` block is a valid piece of configuration, and every code block is closed where GitHub closes it.

The blocks run as written, in a working folder laid out like the repository (``config/``,
``Snakefile``, ``workflow/``, ``.venv/bin``) whose ``config/config.yaml`` is the default analysis
made tiny (fewer events, two epochs, a coarse grid; every other key as in the default), so the
commands finish in seconds. A block is not run when it contains a key of :data:`NOT_RUN`
(the reason is the skip message); a block that runs Snakemake runs the whole workflow and is
marked slow.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPOSITORY = Path(__file__).resolve().parents[1]
README = REPOSITORY / "README.md"

#: a block containing one of these is not run, for the reason given.
NOT_RUN = {
    "make run": "make run is the full default analysis (minutes) and make test is this test suite; "
                "tests/test_workflow.py runs the same workflow on a tiny config",
    "profiles/slurm": "needs a SLURM cluster",
}


def code_blocks(markdown: str) -> list[tuple[str, str, str]]:
    """(section, language, text) of every fenced code block, as a reader sees it: a line that
    starts with three backticks closes an open block. The section is the slug of the heading
    above the block ("running-stages-by-hand"), with -2, -3, … for further blocks under it."""
    blocks, opened, section, counts = [], None, "top", {}
    for line in markdown.splitlines():
        if not line.startswith("```"):
            if opened is not None:
                opened[2].append(line)
            elif line.startswith("#"):
                section = re.sub(r"[^a-z0-9]+", "-", line.lstrip("#").strip().lower()).strip("-")
            continue
        if opened is None:
            counts[section] = counts.get(section, 0) + 1
            name = section if counts[section] == 1 else f"{section}-{counts[section]}"
            opened = (name, line[3:].strip(), [])
        else:
            blocks.append((opened[0], opened[1], "\n".join(opened[2]) + "\n"))
            opened = None
    assert opened is None, f"README.md: the code block under {opened[0]!r} is never closed"
    return blocks


def _blocks(language: str) -> list[tuple[str, str]]:
    return [(section, text) for section, found, text in code_blocks(README.read_text()) if found == language]



@pytest.fixture
def workdir(tmp_path, tiny_config) -> Path:
    """A folder laid out like the repository, with the tiny analysis as config/config.yaml."""
    shutil.copytree(REPOSITORY / "config", tmp_path / "config")
    (tmp_path / "config" / "config.yaml").write_text(yaml.safe_dump(tiny_config("ee_mumu"), sort_keys=False))
    shutil.copy(REPOSITORY / "Snakefile", tmp_path / "Snakefile")
    for folder in ("workflow", "envs", "profiles"):  # the rules name their conda environment in envs/
        shutil.copytree(REPOSITORY / folder, tmp_path / folder)
    # The README calls .venv/bin/snakemake and .venv/bin/goldmine: those of this Python.
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "bin").symlink_to(Path(sys.executable).parent)
    # An analysis of the user's own, as "Changing the analysis" describes.
    (tmp_path / "my-analysis.yaml").write_text(yaml.safe_dump(tiny_config("my-analysis"), sort_keys=False))
    return tmp_path


def _bash_cases():
    for section, text in _blocks("bash"):
        marks = [pytest.mark.skip(reason=reason) for key, reason in NOT_RUN.items() if key in text][:1]
        if not marks and re.search(r"^\S*snakemake\b(?!.*--dry-run)", text, re.MULTILINE):
            marks.append(pytest.mark.slow)
        yield pytest.param(text, id=section, marks=marks)


@pytest.mark.parametrize("block", _bash_cases())
def test_readme_bash_block_runs(block, workdir, tiny_config):
    environment = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=workdir, capture_output=True, text=True,
                            env=environment, timeout=900)
    assert result.returncode == 0, f"{block}\nstdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}"
    if "goldmine check" in block:
        # Its last line, wherever the block's other commands print theirs.
        assert re.search(r"^config/config.yaml \+ my-analysis.yaml: valid \(analysis 'my-analysis'\)$", result.stdout,
                         re.MULTILINE), result.stdout
    if "goldmine infer" in block:
        # The console table of `goldmine infer`: every configured method has a row per parameter.
        for method in ("exact", "histogram", "rate", *tiny_config()["training"]["methods"]):
            assert re.search(rf"^{method}\s+c_vv\s+\[", result.stdout, re.MULTILINE), (method, result.stdout)


@pytest.mark.parametrize("block", [pytest.param(text, id=section) for section, text in _blocks("python")])
def test_readme_python_block_runs(block, workdir):
    result = subprocess.run([sys.executable, "-c", block], cwd=workdir, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{block}\nstderr:\n{result.stderr[-3000:]}"


@pytest.mark.parametrize("block", [pytest.param(text, id=section) for section, text in _blocks("yaml")])
def test_readme_yaml_block_is_a_valid_configuration(block, workdir, tiny_config):
    """Each YAML block, laid over the tiny analysis, passes ``goldmine check``, with a user
    function observable where the block names one."""
    snippet = yaml.safe_load(block)
    assert isinstance(snippet, dict), block
    config = tiny_config("readme") | snippet
    path = workdir / "readme.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    # "mypackage.observables:my_observable", f(muons) -> one value per event, as the README says.
    (workdir / "mypackage").mkdir()
    (workdir / "mypackage" / "__init__.py").write_text("")
    (workdir / "mypackage" / "observables.py").write_text(
        "def my_observable(muons):\n    return muons.mu_minus.pt - muons.mu_plus.pt\n")
    environment = dict(os.environ, PYTHONPATH=str(workdir))
    result = subprocess.run([sys.executable, "-m", "goldmine.cli", "check", str(path)], cwd=workdir,
                            capture_output=True, text=True, env=environment, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().endswith("valid (analysis 'readme')")


def test_readme_code_blocks_close_where_github_closes_them():
    """CommonMark (and so GitHub) closes a code block only at a fence with nothing after it: a
    fence followed by text leaves the rest of the page rendered as code."""
    inside = False
    for number, line in enumerate(README.read_text().splitlines(), start=1):
        if line.startswith("```"):
            rest = line[3:].strip()
            if inside:
                assert rest == "", f"README.md line {number}: text after a closing fence: {line!r}"
            inside = not inside
