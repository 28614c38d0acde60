"""Every profile under profiles/ plans the default analysis: `snakemake --dry-run` with it succeeds.

A dry run needs no cluster: Snakemake reads the profile (an unknown key, or one its executor
plugin does not know, is an error), builds the DAG and prints each job's resources as the
executor would submit them. The executors and storage plugins are the pinned ones of the
`slurm` and `kubernetes` extras. Each run takes about two seconds (the session's one Snakemake
process, conftest.snakemake).
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPOSITORY = Path(__file__).resolve().parents[1]
PROFILES = sorted(path.name for path in (REPOSITORY / "profiles").iterdir() if (path / "config.yaml").exists())
# The default analysis: check, setup, 4 chunks × (generate, detect), merge, mine, 2 methods,
# infer, plot, summarise, all (as tests/test_reana.py counts it for Snakemake 7.32).
DEFAULT_JOBS = {"all": 1, "check": 1, "setup": 1, "generate": 4, "detect": 4, "merge": 1, "mine": 1, "train": 2,
                "infer": 1, "plot": 1, "summarise": 1}


def _dry_run(snakemake, directory: Path, profile: Path, *arguments: str) -> subprocess.CompletedProcess:
    """Snakemake's plan of the default analysis in ``directory`` under ``profile``."""
    (directory / "config").mkdir(exist_ok=True)
    shutil.copy(REPOSITORY / "config" / "config.yaml", directory / "config" / "config.yaml")
    return snakemake("--snakefile", str(REPOSITORY / "Snakefile"), "--directory", str(directory),
                     "--workflow-profile", str(profile), "--dry-run", *arguments, timeout=120)


def _planned_jobs(output: str) -> list[tuple[str, dict[str, str]]]:
    """(rule, resources) of every job in a dry run's output."""
    jobs = re.findall(r"^rule (\w+):\n(?:    .*\n)*?    resources: (.*)$", output, flags=re.MULTILINE)
    return [(rule, dict(item.split("=", 1) for item in listed.split(", "))) for rule, listed in jobs]


def _arguments(profile: str, directory: Path) -> tuple[str, ...]:
    # The Kubernetes profile's storage is a volume mounted at its prefix: here a folder of the test.
    if profile == "kubernetes":
        (directory / "storage").mkdir()
        return ("--default-storage-prefix", str(directory / "storage"))
    return ()


@pytest.mark.parametrize("profile", PROFILES)
def test_profile_plans_the_default_analysis(profile, tmp_path, snakemake):
    assert set(PROFILES) == {"local", "slurm", "kubernetes"}
    plan = _dry_run(snakemake, tmp_path, REPOSITORY / "profiles" / profile, *_arguments(profile, tmp_path))
    assert plan.returncode == 0, plan.stderr[-3000:]
    stats = re.search(r"^Job stats:\n.*\n.*\n((?:\w+ +\d+\n)+)total", plan.stdout, flags=re.MULTILINE).group(1)
    assert {rule: int(count) for rule, count in (line.split() for line in stats.splitlines())} == DEFAULT_JOBS


def test_a_key_the_executor_does_not_know_fails_the_dry_run(tmp_path, snakemake):
    # So a dry run checks every key of a profile against Snakemake's and its plugins' options.
    profile = tmp_path / "profile"
    shutil.copytree(REPOSITORY / "profiles" / "kubernetes", profile)
    settings = yaml.safe_load((profile / "config.yaml").read_text())
    settings["kubernetes-namespaces"] = "goldmine"  # sic: the option is kubernetes-namespace
    (profile / "config.yaml").write_text(yaml.safe_dump(settings))
    plan = _dry_run(snakemake, tmp_path, profile, *_arguments("kubernetes", tmp_path))
    assert plan.returncode != 0 and "unrecognized arguments: --kubernetes-namespaces" in plan.stderr


def test_kubernetes_profile_runs_training_on_one_nvidia_gpu_and_reads_everything_from_the_volume(tmp_path, snakemake):
    plan = _dry_run(snakemake, tmp_path, REPOSITORY / "profiles" / "kubernetes", *_arguments("kubernetes", tmp_path))
    assert plan.returncode == 0, plan.stderr[-3000:]
    storage = tmp_path / "storage"
    # The executor turns gpu + gpu_manufacturer into a request of nvidia.com/gpu; without the
    # manufacturer it refuses the job. The other jobs ask for no GPU.
    for rule, job in _planned_jobs(plan.stdout):
        if rule == "train":
            assert (job["gpu"], job["gpu_manufacturer"], job["mem_mb"], job["runtime"]) == ("1", "nvidia", "16000",
                                                                                            "240"), job
        else:
            assert "gpu" not in job and job["mem_mb"] == ("16000" if rule == "infer" else "4000"), (rule, job)
    # Pods share no file system with Snakemake: every input and output lies in the storage, the
    # configuration the jobs read included (written there while the workflow is parsed).
    assert f"{storage}/results/ee_mumu/check.txt (send to storage)" in plan.stdout
    assert f"{storage}/results/ee_mumu/config.yaml (retrieve from storage)" in plan.stdout
    assert yaml.safe_load((storage / "results" / "ee_mumu" / "config.yaml").read_text())["name"] == "ee_mumu"


def test_the_ee_ww_analysis_plans_shower_and_three_methods(tmp_path, snakemake):
    # config/ee_ww.yaml as a --configfile overlay: Pythia showers every chunk, three methods train.
    shutil.copytree(REPOSITORY / "config" / "processes", tmp_path / "config" / "processes")
    overlay = str(REPOSITORY / "config" / "ee_ww.yaml")
    plan = _dry_run(snakemake, tmp_path, REPOSITORY / "profiles" / "local", "--configfile", overlay)
    assert plan.returncode == 0, plan.stderr[-3000:]
    stats = re.search(r"^Job stats:\n.*\n.*\n((?:\w+ +\d+\n)+)total", plan.stdout, flags=re.MULTILINE).group(1)
    assert {rule: int(count) for rule, count in (line.split() for line in stats.splitlines())} == dict(
        DEFAULT_JOBS, shower=4, train=3)
    assert "results/ee_ww/inference/limits.json" in plan.stdout
