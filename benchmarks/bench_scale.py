"""Scale: 10⁶ and 10⁷ ee_mumu events through every stage in bounded memory, and streaming training.

The events go the way the workflow takes them (scatter in chunks, gather by merging), each
stage in its own process so that its peak resident memory (``ru_maxrss``) is its own, on the
default analysis (config/config.yaml):

- per chunk of ``--chunk`` events (one job each on a cluster): ``generate`` (the embedded
  generator, into a gzip LHE file), ``read`` (:func:`goldmine.io.lhe.iterate` over it) and
  ``detect`` (``goldmine detect``: LHE → detector → observables → HDF5 event file);
- per N in ``--events``: ``merge`` (``goldmine merge`` of N / chunk chunk files; the chunk
  file is given N / chunk times, which costs what as many distinct chunks cost), ``mine``
  (``goldmine mine``: train/test split, the SALLY and ALICES samples, the test file) and
  ``fisher`` (the truth Fisher information, :func:`goldmine.inference.fisher.event_file_information`).

Then training (ALICES, one epoch): on the mined ratio sample in memory and streamed, and
streamed on a sample of ``--big-sample`` rows (the mined sample tiled) whose fields take more
than ``--memory-cap`` MiB as float32: its peak memory must stay under the cap.

Usage: python benchmarks/bench_scale.py [--events 1000000 10000000] [--json FILE]
Needs about 1.5 GB of disk per 10⁶ events and 1.5 GB for the big sample (in a temporary
directory, removed at the end). Figures: docs/scale.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
CHUNK_STAGES = ("generate", "read", "detect")
STAGES = ("merge", "mine", "fisher")
#: the bar of issue 11: every stage under 2 GB at any number of events.
BAR_MIB = 2000


def _config(chunk: int) -> dict:
    from goldmine import config

    settings = config.load(REPOSITORY / "config" / "config.yaml")
    settings["generation"]["events_per_chunk"] = chunk
    return settings


def _run_stage(stage: str, work: Path, n_events: int, chunk: int) -> dict:
    """Run one stage here (in the child process) and return its figures."""
    import numpy as np

    from goldmine import stages
    from goldmine.generation import generate
    from goldmine.inference.fisher import event_file_information
    from goldmine.io import events, lhe
    from goldmine.physics.processes import get_process

    settings = _config(chunk)
    setup, lhe_file, chunk_file = work / "setup.h5", work / "chunk.lhe.gz", work / "chunk.h5"
    event_file = work / f"events-{n_events}.h5"
    start, cpu = time.perf_counter(), _cpu_seconds()
    extra: dict = {}
    if stage == "generate":
        space = events.read_parameter_space(setup)
        process = get_process(settings["process"])
        generation = settings["generation"]
        init, generated = generate(process, space, n_events, generation["seed"], generation["sampling_benchmark"])
        lhe.write(lhe_file, init, generated)
        extra["file_mb"] = lhe_file.stat().st_size / 1e6
    elif stage == "read":
        total = sum(len(block) for block in lhe.iterate(lhe_file))
        assert total == n_events, total
    elif stage == "detect":
        extra["accepted"] = stages.detect(settings, setup, lhe_file, 0, chunk_file)
        extra["file_mb"] = chunk_file.stat().st_size / 1e6
    elif stage == "merge":
        extra["accepted"] = events.merge([chunk_file] * (n_events // chunk), event_file)
        extra["file_mb"] = event_file.stat().st_size / 1e6
    elif stage == "mine":
        stages.mine(settings, event_file, work / "local_score.h5", work / "ratio.h5", work / "test.h5")
    elif stage == "fisher":
        information = event_file_information(event_file)
        extra["truth"] = information["truth"]
        assert np.all(np.isfinite(information["truth"]))
    seconds = time.perf_counter() - start
    return dict(extra, stage=stage, events=n_events, seconds=seconds, events_per_s=n_events / seconds,
                cpu_seconds=_cpu_seconds() - cpu,
                peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def _cpu_seconds() -> float:
    """CPU time of this process so far (user + system; the stages are timed by its difference, without
    the imports): on a shared machine, steadier than wall time."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _train(sample_file: Path, streaming: bool, work: Path, batch_size: int) -> dict:
    """ALICES for one epoch on a sample file, in memory or streamed (in the child process)."""
    import torch

    from goldmine.io import events, samples
    from goldmine.ml.estimators import train_estimator

    torch.set_num_threads(1)
    settings = dict(_config(100_000)["training"]["ratio"], epochs=1, patience=1, batch_size=batch_size)
    space = events.read_parameter_space(work / "setup.h5")
    start, cpu = time.perf_counter(), _cpu_seconds()
    if streaming:
        with samples.open_training_sample(sample_file) as sample:
            n = len(sample)
            train_estimator("alices", sample, space.ranges, settings, progress=False, streaming=True)
    else:
        sample = samples.read_training_sample(sample_file)
        n = len(sample)
        train_estimator("alices", sample, space.ranges, settings, progress=False)
    seconds = time.perf_counter() - start
    return {"stage": "train streaming" if streaming else "train in memory", "samples": n, "batch_size": batch_size,
            "seconds": seconds, "samples_per_s": n / seconds, "cpu_seconds": _cpu_seconds() - cpu,
            "sample_bytes_float32": samples.sample_bytes(sample_file),
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _tile_sample(source: Path, output: Path, rows: int) -> None:
    """A training-sample file of ``rows`` rows: the mined sample repeated, written block by block."""
    import h5py
    import numpy as np

    from goldmine.io.opener import mark
    from goldmine.io.samples import SAMPLE_FIELDS, read_training_sample

    sample = read_training_sample(source)
    with h5py.File(output, "w") as handle:
        mark(handle, "samples")
        for field in SAMPLE_FIELDS:
            values = getattr(sample, field)
            dataset = handle.create_dataset(field, (rows, *values.shape[1:]), dtype=values.dtype,
                                            chunks=(65536, *values.shape[1:]), compression="gzip", shuffle=True)
            for begin in range(0, rows, len(values)):
                end = min(begin + len(values), rows)
                dataset[begin:end] = values[: end - begin]
            assert np.isfinite(dataset[-10:]).all()


def _child(arguments: list[str]) -> dict:
    result = subprocess.run([sys.executable, __file__, "--child", *arguments], check=True, capture_output=True,
                            text=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def _show(result: dict) -> None:
    if "events" in result:
        print(f"{result['events']:>10} {result['stage']:<10} {result['seconds']:8.1f} s {result['cpu_seconds']:8.1f} "
              f"CPU s {result['events'] / result['cpu_seconds']:12,.0f} events/CPU s "
              f"{result['peak_rss_mib']:8.0f} MiB", flush=True)
    else:
        print(f"{result['samples']:>10} {result['stage']:<22} batch {result['batch_size']:5} "
              f"{result['samples'] / result['cpu_seconds']:10,.0f} samples/CPU s {result['peak_rss_mib']:8.0f} MiB "
              f"(sample {result['sample_bytes_float32'] / 2**20:,.0f} MiB as float32)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--chunk", type=int, default=1_000_000)
    parser.add_argument("--big-sample", type=int, default=12_000_000, help="rows of the streamed big sample")
    parser.add_argument("--big-batch-size", type=int, default=4096, help="batch size of the big sample's epoch")
    parser.add_argument("--memory-cap", type=int, default=600, help="MiB the streamed training must stay under")
    parser.add_argument("--directory", default=None, help="where the files go (default: a temporary directory)")
    parser.add_argument("--json", default=None, help="write the figures here (after every stage)")
    parser.add_argument("--no-training", action="store_true", help="the event stages only")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        kind, work, *rest = arguments.child
        if kind == "train":
            result = _train(Path(rest[0]), rest[1] == "streaming", Path(work), int(rest[2]))
        else:
            result = _run_stage(kind, Path(work), int(rest[0]), int(rest[1]))
        print(json.dumps(result))
        return

    from goldmine import stages

    results = []

    def record(result: dict) -> None:
        results.append(result)
        _show(result)
        if arguments.json:
            Path(arguments.json).write_text(json.dumps(results, indent=2) + "\n")

    work = Path(tempfile.mkdtemp(prefix="goldmine-scale-", dir=arguments.directory))
    try:
        stages.setup(_config(arguments.chunk), work / "setup.h5")
        for stage in CHUNK_STAGES:
            record(_child([stage, str(work), str(arguments.chunk), str(arguments.chunk)]))
        (work / "chunk.lhe.gz").unlink()
        for n_events in arguments.events:
            for stage in STAGES:
                record(_child([stage, str(work), str(n_events), str(arguments.chunk)]))
                assert results[-1]["peak_rss_mib"] < BAR_MIB, results[-1]
            if n_events != arguments.events[-1]:
                (work / f"events-{n_events}.h5").unlink()
        if arguments.no_training:
            return
        for path in work.glob("events-*.h5"):
            path.unlink()  # the disk the big sample needs
        ratio = work / "ratio.h5"
        batch_size = _config(arguments.chunk)["training"]["ratio"]["batch_size"]
        for streaming in (False, True):
            record(_child(["train", str(work), str(ratio), "streaming" if streaming else "memory", str(batch_size)]))
        big = work / "big.h5"
        _tile_sample(ratio, big, arguments.big_sample)
        for streaming in (False, True):
            record(_child(["train", str(work), str(ratio), "streaming" if streaming else "memory",
                           str(arguments.big_batch_size)]))
        result = _child(["train", str(work), str(big), "streaming", str(arguments.big_batch_size)])
        result["stage"] = "train streaming (big)"
        record(result)
        assert result["sample_bytes_float32"] / 2**20 > arguments.memory_cap > result["peak_rss_mib"], result
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
