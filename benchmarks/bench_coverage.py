"""Coverage of the 68% and 95% CL intervals of the exact likelihood, the histogram and the trained methods.

Toys of an analysis (config/config.yaml, L = 500 pb⁻¹, or another with ``--configfile``) drawn
from its held-out test events at the SM and at the points of each parameter's profile line
nearest the upper ends of the exact Asimov 68% and 95% intervals
(:func:`goldmine.inference.toys.default_true_points`); for the exact likelihood and the learned
ratios also the coverage of their Neyman construction. Prints the table (method × θ × CL with
binomial errors) and the timing, and writes the document as JSON.

Needs the results of the workflow run of that configuration (results/<name>/samples/test.h5 and
the trained models): ``make run`` for the default, ``snakemake --configfile FILE`` for another.

Usage:
    python benchmarks/bench_coverage.py [--configfile config/validation.yaml] [--toys 1000]
        [--neyman-toys 200] [--output coverage.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from goldmine import config as config_module
from goldmine import stages
from goldmine.inference.toys import coverage_table, run_coverage

REPOSITORY = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configfile", type=Path, nargs="*", default=[],
                        help="overlays merged into config/config.yaml, as snakemake's --configfile")
    parser.add_argument("--toys", type=int, default=1000, help="toys per true θ")
    parser.add_argument("--neyman-toys", type=int, default=200, help="toys per profile-line point (0: none)")
    parser.add_argument("--seed", type=int, default=9000)
    parser.add_argument("--output", type=Path, default=None, help="the coverage document (JSON)")
    args = parser.parse_args()
    config = config_module.load(REPOSITORY / "config" / "config.yaml", *args.configfile)
    results = REPOSITORY / "results" / config["name"]
    models = sorted((results / "models").glob("*/*.pt"))
    torch.set_num_threads(1)
    start = time.perf_counter()
    document = run_coverage(config, results / "samples" / "test.h5", stages.models_by_method(config, models),
                            args.toys, args.seed, neyman_toys=args.neyman_toys or None)
    elapsed = time.perf_counter() - start
    print("\n".join(coverage_table(document)))
    print("*: more than 2 binomial errors below the confidence level (under-covers)")
    n_points = len(document["points"])
    print(f"{document['meta']['test_events']} test events, {n_points} true θ × {args.toys} toys, "
          f"Neyman {args.neyman_toys} toys per profile-line point: {elapsed:.0f} s")
    if args.output is not None:
        args.output.write_text(json.dumps(document | {"seconds": elapsed}, indent=1) + "\n")


if __name__ == "__main__":
    main()
