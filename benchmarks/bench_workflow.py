"""Wall time and peak memory of every stage of the default workflow.

Runs the default analysis (config/config.yaml) in a temporary directory with Snakemake and
reads the `benchmark:` files of the rules. Usage: python benchmarks/bench_workflow.py [--cores N]
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cores", default="2")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        shutil.copytree(REPOSITORY / "config", work / "config", symlinks=False)
        environment = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "snakemake", "--snakefile", str(REPOSITORY / "Snakefile"),
                        "--directory", str(work), "--cores", arguments.cores, "--quiet", "all"],
                       check=True, env=environment)
        total = time.perf_counter() - start
        print(f"{'stage':<28}{'wall s':>9}{'max RSS MiB':>13}")
        for path in sorted((work / "results" / "benchmarks").rglob("*.tsv")):
            with path.open() as handle:
                row = next(csv.DictReader(handle, delimiter="\t"))
            name = str(path.relative_to(work / "results" / "benchmarks").with_suffix(""))
            print(f"{name:<28}{float(row['s']):>9.1f}{float(row['max_rss']):>13.0f}")
        print(f"{'total (with scheduling)':<28}{total:>9.1f}")


if __name__ == "__main__":
    main()
