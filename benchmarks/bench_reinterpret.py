"""goldmine reinterpret on the ATLAS SUSY-2018-31 sbottom likelihoods against serial `pyhf cls`.

    python benchmarks/bench_reinterpret.py [--workers 2] [--every 1] [--pyhf-every 10] [--pyhf-tolerance 1e-10]

Runs goldmine on every ``--every``-th patch of all three regions (all 650 by default) in one
process pool, and in-process ``pyhf.infer.hypotest`` (SLSQP at ``--pyhf-tolerance``, pyhf's
default if not given) on every ``--pyhf-every``-th of those, extrapolating pyhf's serial time
to the full set (stated in the output). Prints JSON with timings (also per patch and core)
and the largest relative CLs differences between the two on the common patches.
"""

from __future__ import annotations

import argparse
import json
import os
import tarfile
import tempfile
import time
from pathlib import Path

import jsonpatch
import numpy as np
import pyhf

from goldmine.publish.reinterpret import load_patches, reinterpret_many

ARCHIVE = Path(os.environ.get("GOLDMINE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")) \
    / "published" / "atlas-susy-2018-31-sbottom-ins1748602.tar.gz"
REGIONS = ("RegionA", "RegionB", "RegionC")


def _relative(ours: list[float], theirs: list[float]) -> float:
    ours, theirs = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    return float(np.max(np.abs(ours - theirs) / np.abs(theirs)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--every", type=int, default=1)
    parser.add_argument("--pyhf-every", type=int, default=10)
    parser.add_argument("--pyhf-tolerance", type=float, default=None)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    with tarfile.open(ARCHIVE) as tar:
        tar.extractall(folder, filter="data")
    jobs, n_all = [], 0
    for region in REGIONS:
        files = sorted((folder / region).glob("patch.*.json"))
        n_all += len(files)
        background = json.loads((folder / region / "BkgOnly.json").read_text())
        jobs.append((background, load_patches([str(f) for f in files[:: args.every]])))
    n_patches = sum(len(patches) for _, patches in jobs)
    start = time.perf_counter()
    results = reinterpret_many(jobs, workers=args.workers, progress=False)
    elapsed = time.perf_counter() - start

    if args.pyhf_tolerance is not None:
        pyhf.set_backend("numpy", pyhf.optimize.scipy_optimizer(tolerance=args.pyhf_tolerance))
    report = {"workers": args.workers, "patches": n_patches, "goldmine_s": round(elapsed, 1),
              "goldmine_s_per_patch_per_core": round(elapsed * args.workers / n_patches, 3),
              "goldmine_all_s_extrapolated": round(elapsed * n_all / n_patches, 1),
              "pyhf_tolerance": args.pyhf_tolerance or "default", "regions": {}}
    pyhf_total, worst_obs, worst_exp = 0.0, 0.0, 0.0
    for region, (background, patches), region_results in zip(REGIONS, jobs, results, strict=True):
        statuses = {s: sum(r["status"] == s for r in region_results.values())
                    for s in ("ok", "ill_conditioned", "no_sensitivity")}
        pyhf_times = []
        for patch in patches[:: args.pyhf_every]:
            start = time.perf_counter()
            workspace = pyhf.Workspace(jsonpatch.apply_patch(background, patch.operations))
            model = workspace.model()
            cls_obs, cls_exp = pyhf.infer.hypotest(1.0, workspace.data(model), model, test_stat="qtilde",
                                                   return_expected_set=True)
            pyhf_times.append(time.perf_counter() - start)
            ours = region_results[patch.name]
            if ours["CLs_obs"] is not None and np.isfinite(float(cls_obs)):
                worst_obs = max(worst_obs, _relative([ours["CLs_obs"]], [float(cls_obs)]))
                worst_exp = max(worst_exp, _relative(ours["CLs_exp"], np.ravel(cls_exp)))
        pyhf_total += float(np.mean(pyhf_times)) * len(patches) * args.every
        report["regions"][region] = {"patches": len(patches), "status": statuses,
                                     "pyhf_patches_timed": len(pyhf_times),
                                     "pyhf_s_per_patch": round(float(np.mean(pyhf_times)), 3)}
    report["pyhf_serial_all_s_extrapolated"] = round(pyhf_total, 1)
    report["max_rel_diff_CLs_obs_vs_pyhf"] = worst_obs
    report["max_rel_diff_CLs_exp_vs_pyhf"] = worst_exp
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
