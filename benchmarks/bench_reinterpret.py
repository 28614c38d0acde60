"""goldmine reinterpret on the ATLAS SUSY-2018-31 sbottom likelihoods against serial `pyhf cls`.

    python benchmarks/bench_reinterpret.py [--workers 2] [--every 1] [--pyhf-every 10] [--pyhf-tolerance 1e-10]
    python benchmarks/bench_reinterpret.py --serial-all [--workers 2] [--check-tight] [-o OUTPUT.json]
    python benchmarks/bench_reinterpret.py --summarise OUTPUT.json [--check-tight]

Runs goldmine on every ``--every``-th patch of all three regions (all 650 by default) in one
process pool, then in-process ``pyhf.infer.hypotest`` (what ``pyhf cls`` runs: SLSQP at
``--pyhf-tolerance``, pyhf's default if not given) in series on every ``--pyhf-every``-th of
those, extrapolating pyhf's serial time to the full set where it ran on a subset. pyhf's
process has one BLAS thread (``--pyhf-blas-threads``): serial means one core, and on a loaded
machine OpenBLAS's thread pool slows SLSQP down several times (docs/reinterpret.md).
``--serial-all`` is the comparison in one run: goldmine and then pyhf's defaults on all 650.

Prints JSON: both times, the speed-up, the machine's load while each ran (the 1-minute load
average, sampled every 10 s), and the agreement: the largest |ΔCLs_obs| over the patches
goldmine calls ``ok``, and every patch where pyhf differs from goldmine by more than
``--threshold`` on any of the six CLs values (or where pyhf fails or returns NaN); with
``--check-tight``, pyhf at tolerance 1e-10 on those patches says which of the two it confirms.
``-o OUTPUT`` also writes every patch's results from both (per region, the ``goldmine`` part is
what ``goldmine reinterpret -o`` writes), OUTPUT.goldmine.json as soon as goldmine is done, and
OUTPUT.pyhf.jsonl while pyhf runs: ``--summarise OUTPUT`` reports on a run stopped early.
"""

from __future__ import annotations

import argparse
import json
import os
import tarfile
import tempfile
import threading
import time
import warnings
from pathlib import Path

import jsonpatch
import numpy as np
import pyhf
from threadpoolctl import threadpool_limits

from goldmine.publish.reinterpret import load_patches, reinterpret_many

ARCHIVE = Path(os.environ.get("GOLDMINE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")) \
    / "published" / "atlas-susy-2018-31-sbottom-ins1748602.tar.gz"
REGIONS = ("RegionA", "RegionB", "RegionC")


class _Load:
    """The 1-minute load average, sampled in a thread while a phase runs."""

    def __init__(self, every: float = 10.0):
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, args=(every,), daemon=True)

    def _sample(self, every: float) -> None:
        while not self._stop.is_set():
            self.samples.append(os.getloadavg()[0])
            self._stop.wait(every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict:
        return {"mean": round(float(np.mean(self.samples)), 2), "max": round(float(np.max(self.samples)), 2)}


def _pyhf_cls(background: dict, patch) -> tuple[float, list[float]] | str:
    """pyhf's CLs as `pyhf cls` computes them, or the error pyhf raised."""
    try:
        workspace = pyhf.Workspace(jsonpatch.apply_patch(background, patch.operations))
        model = workspace.model()
        with warnings.catch_warnings():
            # pyhf warns where q_mu,A = 0 (CLs 0/0) and returns NaN, which the report lists
            warnings.simplefilter("ignore", RuntimeWarning)
            cls_obs, cls_exp = pyhf.infer.hypotest(1.0, workspace.data(model), model, test_stat="qtilde",
                                                   return_expected_set=True)
    except Exception as error:  # noqa: BLE001 - a benchmark reports what pyhf does with every patch
        return f"{type(error).__name__}: {str(error)[:200]}"
    return float(cls_obs), [float(v) for v in np.ravel(cls_exp)]


def _compare(region: str, name: str, ours: dict, theirs, threshold: float) -> dict | None:
    """The patch's entry in the list of differences, or None where both agree within ``threshold``."""
    entry = {"region": region, "patch": name, "goldmine_status": ours["status"],
             "goldmine_CLs_obs": ours["CLs_obs"]}
    if isinstance(theirs, str):
        return {**entry, "pyhf": theirs}
    entry["pyhf_CLs_obs"] = theirs[0]
    if ours["CLs_obs"] is None or not np.all(np.isfinite([theirs[0], *theirs[1]])):
        return entry if ours["CLs_obs"] is not None or np.isfinite(theirs[0]) else {**entry, "pyhf_CLs_obs": "nan"}
    difference = np.abs(np.array([ours["CLs_obs"], *ours["CLs_exp"]]) - np.array([theirs[0], *theirs[1]]))
    if difference.max() <= threshold:
        return None
    return {**entry, "max_abs_diff": float(difference.max()), "abs_diff_CLs_obs": float(difference[0])}


def _summary(report: dict, jobs: list, results: list, per_patch: dict, timings: dict, every: int,
             threshold: float) -> dict:
    """Add pyhf's times per region, the speed-up and the agreement with goldmine to ``report``."""
    n_all = report["patches_all"]
    pyhf_total, pyhf_timed, worst_obs, differences = 0.0, 0, 0.0, []
    for region, patches, region_results in zip(REGIONS, jobs, results, strict=True):
        statuses = {s: sum(r["status"] == s for r in region_results.values())
                    for s in ("ok", "ill_conditioned", "no_sensitivity")}
        for name, theirs in per_patch.get(region, {}).items():
            ours = region_results[name]
            if ours["status"] == "ok" and not isinstance(theirs, str) and np.isfinite(theirs[0]):
                worst_obs = max(worst_obs, abs(ours["CLs_obs"] - theirs[0]))
            entry = _compare(region, name, ours, theirs, threshold)
            if entry is not None:
                differences.append(entry)
        times = timings.get(region, [])
        pyhf_timed += len(times)
        pyhf_total += float(np.mean(times)) * len(patches) * every if times else float("nan")
        report["regions"][region] = {"patches": len(patches), "status": statuses, "pyhf_patches_timed": len(times),
                                     "pyhf_s_per_patch": round(float(np.mean(times)), 3) if times else None}
    complete = pyhf_timed == n_all
    report["pyhf_patches_timed"] = pyhf_timed
    report["pyhf_serial_all_s" if complete else "pyhf_serial_all_s_extrapolated"] = round(pyhf_total, 1)
    if report.get("goldmine_s"):
        report["speed_up" if complete else "speed_up_extrapolated"] = round(
            pyhf_total / report["goldmine_all_s_extrapolated"], 1)
    report["max_abs_diff_CLs_obs_vs_pyhf_where_ok"] = worst_obs
    report[f"patches_differing_by_more_than_{threshold:g}"] = differences
    return report


def _six(values) -> np.ndarray:
    """CLs_obs and the five CLs_exp of a goldmine result or a pyhf (observed, expected) pair."""
    if isinstance(values, dict):
        return np.array([values["CLs_obs"], *values["CLs_exp"]])
    return np.array([values[0], *values[1]])


def _check_tight(differences: list[dict], jobs: list, results: list, per_patch: dict,
                 tolerance: float = 1e-10) -> None:
    """Add pyhf's CLs at SLSQP tolerance ``tolerance`` to every difference with numbers on both sides:
    which of the two the tight pyhf fit confirms."""
    pyhf.set_backend("numpy", pyhf.optimize.scipy_optimizer(tolerance=tolerance))
    try:
        for entry in differences:
            if "max_abs_diff" not in entry:
                continue
            k = REGIONS.index(entry["region"])
            background, patches = jobs[k]
            patch = next(p for p in patches if p.name == entry["patch"])
            with threadpool_limits(1, user_api="blas"):
                tight = _pyhf_cls(background, patch)
            if isinstance(tight, str):
                entry["pyhf_tight"] = tight
                continue
            entry["pyhf_tight_CLs_obs"] = tight[0]
            entry["pyhf_tight_vs_goldmine_max_abs_diff"] = float(np.max(np.abs(
                _six(tight) - _six(results[k][entry["patch"]]))))
            entry["pyhf_tight_vs_pyhf_default_max_abs_diff"] = float(np.max(np.abs(
                _six(tight) - _six(per_patch[entry["region"]][entry["patch"]]))))
    finally:
        pyhf.set_backend("numpy", pyhf.optimize.scipy_optimizer())


def _jobs(every: int) -> tuple[list, int]:
    """(background-only workspace, every ``every``-th patch) per region, and the number of all patches."""
    folder = Path(tempfile.mkdtemp())
    with tarfile.open(ARCHIVE) as tar:
        tar.extractall(folder, filter="data")
    jobs, n_all = [], 0
    for region in REGIONS:
        files = sorted((folder / region).glob("patch.*.json"))
        n_all += len(files)
        background = json.loads((folder / region / "BkgOnly.json").read_text())
        jobs.append((background, load_patches([str(f) for f in files[::every]])))
    return jobs, n_all


def _read_progress(prefix: Path) -> tuple[dict, dict]:
    """pyhf's results and times per region from a run's progress file (PREFIX.pyhf.jsonl)."""
    per_patch: dict[str, dict] = {}
    timings: dict[str, list[float]] = {}
    for line in prefix.with_suffix(".pyhf.jsonl").read_text().splitlines():
        region, name, seconds, theirs = json.loads(line)
        per_patch.setdefault(region, {})[name] = theirs
        timings.setdefault(region, []).append(seconds)
    return per_patch, timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--every", type=int, default=1)
    parser.add_argument("--pyhf-every", type=int, default=10)
    parser.add_argument("--pyhf-tolerance", type=float, default=None)
    parser.add_argument("--serial-all", action="store_true",
                        help="pyhf's defaults on every patch goldmine ran (no extrapolation)")
    parser.add_argument("--threshold", type=float, default=1e-4,
                        help="list patches where pyhf and goldmine differ by more (absolute, any CLs value)")
    parser.add_argument("--pyhf-blas-threads", type=int, default=1,
                        help="BLAS threads of pyhf's process (1: serial means one core)")
    parser.add_argument("-o", "--output", type=Path,
                        help="also write every patch's results here (and OUTPUT.goldmine.json, OUTPUT.pyhf.jsonl "
                             "while it runs)")
    parser.add_argument("--check-tight", action="store_true",
                        help="rerun pyhf at tolerance 1e-10 on every patch where pyhf and goldmine differ")
    parser.add_argument("--summarise", type=Path, metavar="OUTPUT",
                        help="only the report of a run with -o OUTPUT stopped while pyhf ran (from its files)")
    args = parser.parse_args()
    if args.serial_all:
        args.pyhf_every, args.pyhf_tolerance = 1, None
    if args.summarise:
        goldmine = json.loads(args.summarise.with_suffix(".goldmine.json").read_text())
        report, results = goldmine["report"], [goldmine["results"][region] for region in REGIONS]
        per_patch, timings = _read_progress(args.summarise)
        patches = [list(region_results) for region_results in results]
        report["stopped"] = "while pyhf ran: its time is extrapolated from the patches it finished (random order)"
        report = _summary(report, patches, results, per_patch, timings, report["every"], args.threshold)
        if args.check_tight:
            _check_tight(report[f"patches_differing_by_more_than_{args.threshold:g}"], _jobs(report["every"])[0],
                         results, per_patch)
        print(json.dumps(report, indent=2))
        return
    jobs, n_all = _jobs(args.every)
    n_patches = sum(len(patches) for _, patches in jobs)
    with _Load() as goldmine_load:
        start = time.perf_counter()
        results = reinterpret_many(jobs, workers=args.workers, progress=False)
        elapsed = time.perf_counter() - start
    report = {"workers": args.workers, "patches": n_patches, "patches_all": n_all, "every": args.every,
              "cpus": os.cpu_count(), "goldmine_s": round(elapsed, 1),
              "goldmine_s_per_patch_per_core": round(elapsed * args.workers / n_patches, 3),
              "goldmine_all_s_extrapolated": round(elapsed * n_all / n_patches, 1),
              "goldmine_load": goldmine_load.summary(),
              "pyhf": f"{pyhf.__version__}, tolerance {args.pyhf_tolerance or 'default'}, serial, in-process, "
                      f"{args.pyhf_blas_threads} BLAS thread(s)",
              "regions": {}}
    if args.output:
        # goldmine's part on its own, before pyhf's long serial run (--summarise reads it)
        args.output.with_suffix(".goldmine.json").write_text(json.dumps(
            {"report": report, "results": dict(zip(REGIONS, results, strict=True))}))

    if args.pyhf_tolerance is not None:
        pyhf.set_backend("numpy", pyhf.optimize.scipy_optimizer(tolerance=args.pyhf_tolerance))
    # pyhf runs the patches of all regions in a fixed random order: a run stopped early (the
    # progress file has every finished patch) still times an unbiased sample of the full set
    tasks = [(region, background, patch) for region, (background, patches) in zip(REGIONS, jobs, strict=True)
             for patch in patches[:: args.pyhf_every]]
    order = np.random.default_rng(14).permutation(len(tasks))
    progress = args.output.with_suffix(".pyhf.jsonl").open("w") if args.output else None
    per_patch: dict[str, dict] = {}
    timings: dict[str, list[float]] = {}
    with _Load() as pyhf_load, threadpool_limits(args.pyhf_blas_threads, user_api="blas"):
        for k in order:
            region, background, patch = tasks[k]
            start = time.perf_counter()
            theirs = _pyhf_cls(background, patch)
            timings.setdefault(region, []).append(time.perf_counter() - start)
            per_patch.setdefault(region, {})[patch.name] = theirs
            if progress:
                progress.write(json.dumps([region, patch.name, timings[region][-1], theirs]) + "\n")
                progress.flush()
    report["pyhf_load"] = pyhf_load.summary()
    report = _summary(report, [patches for _, patches in jobs], results, per_patch, timings, args.every,
                      args.threshold)
    if args.check_tight:
        _check_tight(report[f"patches_differing_by_more_than_{args.threshold:g}"], jobs, results, per_patch)
    print(json.dumps(report, indent=2))
    if args.output:
        args.output.write_text(json.dumps({"report": report, "goldmine": dict(zip(REGIONS, results, strict=True)),
                                           "pyhf": per_patch}, indent=1))


if __name__ == "__main__":
    main()
