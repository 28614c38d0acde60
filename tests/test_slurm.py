"""The workflow on a real one-node SLURM cluster through profiles/slurm: training jobs on the GPU
partition, the rest on the CPU partition, and the local run's results to the byte.

The dry run needs no cluster. The real run needs one whose partitions are named `cpu` and `gpu`:
`scripts/slurm-up.sh` (as root, on Debian) brings one up on this machine, and `.ci/run` runs it
first when it can. The test never starts daemons itself; without a cluster it skips and says why.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPOSITORY = Path(__file__).resolve().parents[1]

# The executor asks squeue for job states: a test cluster has no slurmdbd, so sacct knows no jobs
# (scripts/slurm-up.sh keeps finished jobs in squeue for 10 minutes, MinJobAge). A first status
# check after 2 s instead of 40 keeps the run's ten sequential steps from waiting.
# Status checks every 2 s instead of 10: the tiny run is ten short jobs in a row, each of which
# would otherwise sit finished for up to a round of checks (146 s → 134 s here).
_SLURM_ARGUMENTS = ("--workflow-profile", str(REPOSITORY / "profiles" / "slurm"), "--slurm-status-command", "squeue",
                    "--slurm-init-seconds-before-status-checks", "2", "--seconds-between-status-checks", "2")


def _cluster_problem() -> str | None:
    """Why no SLURM cluster with partitions cpu and gpu can take jobs here, or None when one can."""
    if shutil.which("sinfo") is None:
        return "no SLURM here (sinfo not found); as root on Debian, scripts/slurm-up.sh brings up a one-node cluster"
    try:
        # sinfo waits without end for an unreachable controller.
        listing = subprocess.run(["sinfo", "--noheader", "--format", "%P %t"], capture_output=True, text=True,
                                 timeout=10)
    except subprocess.TimeoutExpired:
        return "the SLURM controller does not answer (sinfo timed out); run scripts/slurm-up.sh as root"
    if listing.returncode != 0:
        return f"the SLURM controller does not answer ({listing.stderr.strip()}); run scripts/slurm-up.sh as root"
    # The default partition carries a star: "cpu* idle".
    states = {partition.rstrip("*"): state for partition, state in
              (line.split() for line in listing.stdout.splitlines() if line.strip())}
    missing = [name for name in ("cpu", "gpu") if not states.get(name, "").startswith(("idle", "mix", "alloc"))]
    if missing:
        return f"SLURM partitions {missing} are not up (sinfo: {states}); run scripts/slurm-up.sh as root"
    return None


def _slurm_jobs(snakemake_output: str) -> dict[str, dict[str, str]]:
    """SLURM's record (`scontrol show job`) of every job the run submitted, by SLURM job id."""
    ids = re.findall(r"submitted with SLURM jobid (\d+)", snakemake_output)
    records = {}
    for job_id in ids:
        shown = subprocess.run(["scontrol", "show", "job", "--oneliner", job_id], capture_output=True, text=True,
                               check=True).stdout
        records[job_id] = dict(re.findall(r"(\w+)=(\S*)", shown))
    return records


@pytest.mark.slow
def test_workflow_on_slurm_sends_training_to_the_gpu_partition_and_equals_a_local_run(
        tmp_path, tiny_workflow, result_digests, local_tiny_results):
    problem = _cluster_problem()
    if problem:
        pytest.skip(problem)
    on_slurm = tiny_workflow(tmp_path / "slurm", *_SLURM_ARGUMENTS)
    jobs = _slurm_jobs(on_slurm.stderr + on_slurm.stdout)

    # The executor names each job's rule in its comment: rule_<name>[_wildcards_<values>].
    rules = {job_id: re.match(r"rule_([a-z_]+?)(_wildcards_|$)", job["Comment"]).group(1)
             for job_id, job in jobs.items()}
    assert sorted(rule for rule in rules.values() if rule == "train") == ["train", "train"]  # SALLY and ALICES
    assert {"setup", "generate", "detect", "mine", "infer", "plot"} <= set(rules.values())
    for job_id, job in jobs.items():
        assert job["JobState"] == "COMPLETED", (rules[job_id], job)
        if rules[job_id] == "train":
            assert job["Partition"] == "gpu", job
            assert "gpu:1" in job.get("TresPerJob", ""), job  # the GPU the rule's gpu=1 asks for
        else:
            assert job["Partition"] == "cpu", (rules[job_id], job)
            assert "gpu" not in job.get("TresPerJob", ""), (rules[job_id], job)

    # Same config and seeds on CPUs: every result file, limits.json among them, is the local run's byte for byte.
    slurm_results = result_digests(tmp_path / "slurm" / "results" / "tiny")
    local_results = result_digests(local_tiny_results)
    assert "inference/limits.json" in slurm_results
    assert sorted(slurm_results) == sorted(local_results)
    assert sorted(name for name in local_results if local_results[name] != slurm_results[name]) == []


def test_profile_sends_training_to_the_gpu_partition_in_a_dry_run(tmp_path, tiny_config, snakemake):
    # Snakemake's plan of the tiny analysis under the profile, without a cluster: each planned job's
    # resources as the executor would submit them.
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text(yaml.safe_dump(tiny_config(), sort_keys=False))
    plan = snakemake("--snakefile", str(REPOSITORY / "Snakefile"), "--directory", str(tmp_path),
                     "--workflow-profile", str(REPOSITORY / "profiles" / "slurm"), "--dry-run", timeout=300)
    assert plan.returncode == 0, plan.stderr[-3000:]
    jobs = re.findall(r"^rule (\w+):\n(?:    .*\n)*?    resources: (.*)$", plan.stdout, flags=re.MULTILINE)
    resources = [(rule, dict(item.split("=", 1) for item in listed.split(", "))) for rule, listed in jobs]
    training = [job for rule, job in resources if rule == "train"]
    assert len(training) == len(tiny_config()["training"]["methods"])  # one member of each method
    for job in training:
        assert (job["slurm_partition"], job["gpu"], job["mem_mb"]) == ("gpu", "1", "16000"), job
    others = [(rule, job) for rule, job in resources if rule != "train"]
    assert {"setup", "generate", "detect", "mine", "infer"} <= {rule for rule, _ in others}
    for rule, job in others:
        assert job["slurm_partition"] == "cpu" and "gpu" not in job, (rule, job)
