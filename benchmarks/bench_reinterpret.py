"""goldmine reinterpret on the ATLAS SUSY-2018-31 sbottom likelihoods against serial `pyhf cls`.

    python benchmarks/bench_reinterpret.py [--workers 2] [--every 1] [--pyhf-every 10]

Runs goldmine on every ``--every``-th patch of all three regions (all 650 by default) and
in-process ``pyhf.infer.hypotest`` with pyhf's defaults on every ``--pyhf-every``-th patch,
extrapolating pyhf's serial time to the full set (stated in the output). Prints JSON with
timings and the largest relative CLs difference between the two on the common patches.
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

from goldmine.publish.reinterpret import load_patches, reinterpret

ARCHIVE = Path(os.environ.get("GOLDMINE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")) \
    / "published" / "atlas-susy-2018-31-sbottom-ins1748602.tar.gz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--every", type=int, default=1)
    parser.add_argument("--pyhf-every", type=int, default=10)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    with tarfile.open(ARCHIVE) as tar:
        tar.extractall(folder, filter="data")
    report = {"workers": args.workers, "regions": {}}
    total_goldmine, total_pyhf, n_all, n_pyhf_all, worst = 0.0, 0.0, 0, 0, 0.0
    for region in ("RegionA", "RegionB", "RegionC"):
        files = sorted((folder / region).glob("patch.*.json"))
        background = json.loads((folder / region / "BkgOnly.json").read_text())
        patches = load_patches([str(f) for f in files[:: args.every]])
        start = time.perf_counter()
        results = reinterpret(background, patches, workers=args.workers, progress=False)
        elapsed = time.perf_counter() - start
        total_goldmine += elapsed
        n_all += len(files)
        statuses = {s: sum(r["status"] == s for r in results.values())
                    for s in ("ok", "ill_conditioned", "no_sensitivity")}
        pyhf_times = []
        for patch in patches[:: args.pyhf_every]:
            start = time.perf_counter()
            workspace = pyhf.Workspace(jsonpatch.apply_patch(background, patch.operations))
            model = workspace.model()
            cls_obs = float(pyhf.infer.hypotest(1.0, workspace.data(model), model, test_stat="qtilde"))
            pyhf_times.append(time.perf_counter() - start)
            ours = results[patch.name]["CLs_obs"]
            if ours is not None and np.isfinite(cls_obs):
                worst = max(worst, abs(ours - cls_obs) / cls_obs)
        n_pyhf_all += len(files)
        total_pyhf += np.mean(pyhf_times) * len(files)
        report["regions"][region] = {"patches": len(patches), "goldmine_s": round(elapsed, 1), "status": statuses,
                                     "pyhf_patches_timed": len(pyhf_times),
                                     "pyhf_s_per_patch": round(float(np.mean(pyhf_times)), 3)}
    fraction = sum(r["patches"] for r in report["regions"].values()) / n_all
    report["goldmine_all_s_extrapolated"] = round(total_goldmine / fraction, 1)
    report["goldmine_measured_fraction"] = round(fraction, 3)
    report["pyhf_serial_all_s_extrapolated"] = round(total_pyhf, 1)
    report["max_rel_diff_vs_pyhf_default"] = worst
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
