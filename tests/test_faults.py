"""Faults: a stage killed outright (SIGKILL) leaves no output under its final name, and the same
command run again completes with the bytes of an uninterrupted run.

Each stage runs as the `goldmine` command in a subprocess, on inputs sized so that the stage
runs for a second or more, and is killed at a point observed in its files or its log (polled,
not timed). The uninterrupted outputs come from the module fixture, which runs the chain once.
"""

import copy
import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from goldmine import config as config_module

REPOSITORY = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow
_GOLDMINE = [sys.executable, "-m", "goldmine.cli"]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _temporaries(path: Path) -> list[Path]:
    """The temporaries of ``path`` that goldmine.io.atomic leaves when its writer is killed."""
    return sorted(path.parent.glob(f".{path.name}.*.tmp"))


def _goldmine(directory: Path, *arguments: str) -> subprocess.CompletedProcess:
    result = subprocess.run([*_GOLDMINE, *arguments], cwd=directory, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def _kill_when(directory: Path, arguments: list[str], ready: Callable[[str], bool]) -> None:
    """Run ``goldmine arguments``, SIGKILL it as soon as ``ready(stderr so far)`` holds, and check it died of that."""
    log = directory / "killed.log"
    with log.open("w") as stderr:
        process = subprocess.Popen([*_GOLDMINE, *arguments], cwd=directory, stdout=subprocess.DEVNULL, stderr=stderr)
        deadline = time.monotonic() + 120
        while not ready(log.read_text()):
            # The kill point must come while the stage runs: a stage that finished first proves nothing.
            assert process.poll() is None, f"finished before the kill point: {log.read_text()[-2000:]}"
            assert time.monotonic() < deadline, "no kill point within 120 s"
            time.sleep(0.01)
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait() == -signal.SIGKILL


def _config(directory: Path) -> Path:
    """ee_mumu with 100k events in one chunk, SALLY trained for 20 epochs without early stopping."""
    config = copy.deepcopy(config_module.load(REPOSITORY / "config" / "config.yaml"))
    config["name"] = "faults"
    config["generation"].update(chunks=1, events_per_chunk=100_000)
    config["morphing"]["n_trials"] = 100
    config["mining"].update(n_thetas=50, samples={"local_score": 20_000, "ratio": 4000})
    config["training"]["methods"] = ["sally"]
    config["training"]["local_score"].update(epochs=20, hidden=[16], patience=100)
    config["inference"]["grid_points"] = 11
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


_COMMANDS = {
    "generate": ["generate", "--config", "config.yaml", "--setup", "setup.h5", "-o", "events.lhe.gz"],
    "detect": ["detect", "--config", "config.yaml", "--setup", "setup.h5", "--input", "events.lhe.gz",
               "-o", "events.h5"],
    "mine": ["mine", "--config", "config.yaml", "--events", "events.h5", "--local-score", "local_score.h5",
             "--ratio", "ratio.h5", "--test", "test.h5"],
    "train": ["train", "--config", "config.yaml", "--method", "sally", "--sample", "local_score.h5",
              "--setup", "setup.h5", "-o", "sally.pt", "--no-progress"],
    "infer": ["infer", "--config", "config.yaml", "--test", "test.h5", "--fisher", "fisher.json",
              "--limits", "limits.json", "--validation", "validation.json", "--workspace", "workspace.json",
              "--no-progress", "sally.pt"],
}
_OUTPUTS = {
    "generate": ["events.lhe.gz"],
    "detect": ["events.h5"],
    "train": ["sally.pt", "sally.json"],
    "infer": ["fisher.json", "limits.json", "validation.json", "workspace.json"],
}


@pytest.fixture(scope="module")
def chain(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """The chain run once without faults: its directory and the sha256 of every output."""
    directory = tmp_path_factory.mktemp("faults")
    _config(directory)
    _goldmine(directory, "setup", "--config", "config.yaml", "-o", "setup.h5")
    for stage in ("generate", "detect", "mine", "train", "infer"):
        _goldmine(directory, *_COMMANDS[stage])
    return directory, {name: _digest(directory / name) for names in _OUTPUTS.values() for name in names}


def _kill_and_rerun(chain, stage: str, ready: Callable[[Path, str], bool]) -> str:
    """Kill ``stage`` at ``ready``, check that none of its outputs exists, rerun it and compare the bytes;
    returns the rerun's log."""
    directory, uninterrupted = chain
    outputs = [directory / name for name in _OUTPUTS[stage]]
    for path in outputs:
        path.unlink()
    _kill_when(directory, _COMMANDS[stage], lambda log: ready(directory, log))
    assert [path.name for path in outputs if path.exists()] == []
    rerun = _goldmine(directory, *_COMMANDS[stage])
    for path in outputs:
        assert _digest(path) == uninterrupted[path.name], path.name
        # The rerun removed what the killed writer left behind.
        assert _temporaries(path) == []
    return rerun.stderr


def _writing(path: str) -> Callable[[Path, str], bool]:
    """Kill point: the temporary of ``path`` exists and holds data (the writer is inside its write)."""
    return lambda directory, log: any(tmp.stat().st_size > 0 for tmp in _temporaries(directory / path))


def test_generate_killed_while_writing_the_lhe_reruns_to_the_same_file(chain):
    _kill_and_rerun(chain, "generate", _writing("events.lhe.gz"))


def test_detect_killed_while_writing_the_hdf5_file_reruns_to_the_same_file(chain):
    _kill_and_rerun(chain, "detect", _writing("events.h5"))


def test_train_killed_after_a_checkpoint_resumes_to_the_same_model(chain):
    directory, _ = chain
    log = _kill_and_rerun(chain, "train", lambda directory, log: (directory / "sally.checkpoint").exists())
    # It resumed rather than started afresh: the bit-identical model comes from the checkpoint.
    assert "resuming after epoch" in log
    assert not (directory / "sally.checkpoint").exists() and _temporaries(directory / "sally.checkpoint") == []


def test_infer_killed_while_computing_reruns_to_the_same_results(chain):
    # pyhf logs while infer builds the histogram likelihood, before the exact likelihood and SALLY.
    _kill_and_rerun(chain, "infer", lambda directory, log: "pyhf" in log)
