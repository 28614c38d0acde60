# Configuration validation, the effective configuration, the paths of one analysis, the software
# of the rules and the input functions; no rules.
#
# Parsing needs Snakemake and nothing of goldmine: REANA parses this workflow in its own engine
# image (Snakemake 7.32, no goldmine) and dispatches only jobs that run a shell command. So the
# schema is checked here by Snakemake itself, which also fills in its defaults; goldmine's own
# validation (consistency of the sections, expressions, the detector card) is the first job,
# `goldmine check` in workflow/rules/check.smk (it has the highest priority).
#
# Reruns: a change reruns only what it affects. Every `goldmine` command reads the configuration
# from one file (EFFECTIVE_CONFIG), validates it again and fills in what Snakemake cannot (the
# defaults behind a $ref). This file is written here, while the workflow is parsed, and only
# when its content changed; rules take it as an ancient() input, so its time stamp never
# triggers a rerun. What triggers one is `params.config` of each rule: the configuration
# sections its command reads (`config_sections`). Snakemake (7.32 and 9.x alike) records a
# job's params with its outputs and reruns the job when they differ (the default rerun trigger
# "params"); the jobs downstream then rerun because their inputs are newer. So a rule must list
# every section its command reads, and no others: a new inference.luminosity reruns infer and
# plot, new training settings reuse the events and samples. The check job is upstream of no
# stage: Snakemake 7.32 and 9.x skip the params trigger of a job whose ancient() input another
# job of the same run rewrites.
#
# One analysis, one folder: every output lies under results/<name>/ and every log under
# logs/<name>/ (`name` in the config), so two analyses never overwrite each other.
import copy
import os
import subprocess
import sys
import tempfile

import yaml

from snakemake.utils import validate

# The software of every rule, named here only: the images for containers (apptainer, REANA,
# Kubernetes; built from containers/<name>/Dockerfile by `make images`) and the conda environment
# (relative to the rule files in workflow/rules/). The goldmine image is tagged with goldmine's
# version, the generator image (MadGraph, item 5 of issue 13) with its MG5_aMC version.
GOLDMINE_IMAGE = "docker://ghcr.io/goldmine-hep/goldmine:0.1.0"
GENERATOR_IMAGE = "docker://ghcr.io/goldmine-hep/generator:3.5.5"
GOLDMINE_ENV = "../../envs/goldmine.yaml"

# Method -> family, whose settings (config key training.<family>) its training reads. A copy of
# goldmine.ml.family_of that parses without goldmine; tests/test_reana.py checks they agree.
METHOD_FAMILIES = {
    "sally": "local_score", "sallino": "local_score",
    **{f"{prefix}{method}": "ratio" for prefix in ("", "morphing_")
       for method in ("carl", "rolr", "rascal", "alice", "alices", "cascal")},
    "nde": "density", "scandal": "density",
}

# Snakemake merges a --configfile into config/config.yaml key by key. Mappings whose keys the
# user names (parameters, benchmarks, weight ids) are replaced whole instead: a parameter left
# over from the default would make another analysis. Kept equal to goldmine.config.NAMED_MAPPINGS
# (this file parses without goldmine; tests/test_reana.py checks they are equal).
NAMED_MAPPINGS = (("process", "parameters"), ("external", "benchmarks"), ("external", "weights"),
                  ("external", "systematics"))
_command_line = getattr(workflow, "config_settings", workflow).overwrite_config  # Snakemake 9 | 7.32
for _section, _key in NAMED_MAPPINGS:
    if _key in _command_line.get(_section, {}):
        config[_section][_key] = copy.deepcopy(_command_line[_section][_key])

validate(config, "../../config/schema.yaml")
config.setdefault("name", config["process"]["name"])

# A detector card given relative to the workflow (as the shipped ones are) is found from any
# working directory.
_card = config["detector"].get("card")
if _card is not None and not os.path.exists(_card):
    config["detector"]["card"] = os.path.join(workflow.basedir, _card)

# MadGraph's cards, like the detector card, are found from any working directory. With a Delphes card
# MadGraph's job runs Pythia 8 and Delphes too, and the detector stage reads Delphes's file.
MADGRAPH = config["process"]["name"] == "madgraph"
if MADGRAPH and not os.path.exists(config["process"].get("cards", "")):
    config["process"]["cards"] = os.path.join(workflow.basedir, config["process"].get("cards", ""))
MADGRAPH_DELPHES = MADGRAPH and os.path.exists(os.path.join(config["process"]["cards"], "delphes_card.dat"))

# The files of an external sample, like the card, are found from any working directory.
if "external" in config:
    config["external"]["files"] = [
        path if os.path.exists(path) or os.path.isabs(path) else os.path.join(workflow.basedir, path)
        for path in config["external"]["files"]
    ]

# Snakemake merges a --configfile into config/config.yaml: without a name of its own, another
# analysis would take the default's name and overwrite the default's results.
if workflow.overwrite_configfiles and "name" not in _command_line:
    raise ValueError(
        "invalid configuration: give the analysis of --configfile its own `name` (its folder in results/ and "
        f"logs/); without one it is {config['name']!r}, the name of config/config.yaml it is merged into"
    )

# One detector job per chunk: a generated chunk, or a file of the external sample (which replaces generation).
N_CHUNKS = len(config["external"]["files"]) if "external" in config else config["generation"]["chunks"]

RESULTS = f"results/{config['name']}"
LOGS = f"logs/{config['name']}"
BENCHMARKS = f"{RESULTS}/benchmarks"
EFFECTIVE_CONFIG = f"{RESULTS}/config.yaml"
SUMMARY_TABLE = f"{RESULTS}/summary.txt"
FRONT_PAGE = f"{RESULTS}/summary.rst"
REPORT = f"{RESULTS}/report.html"
PLOTS = ("distributions", "fisher_ellipses", "limits", "training", "calibration")


def _write_effective_config(path):
    """Write the configuration to ``path`` unless it holds exactly that already; atomically."""
    text = yaml.safe_dump(dict(config), sort_keys=False)
    if os.path.exists(path) and open(path).read() == text:
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".config.", suffix=".tmp")
    with os.fdopen(handle, "w") as stream:
        stream.write(text)
    os.replace(temporary, path)


_write_effective_config(EFFECTIVE_CONFIG)
# With a default storage (profiles/kubernetes: a volume mounted at the prefix) the rules read their
# inputs from the storage, not from the working directory: the configuration goes there too.
_storage = getattr(workflow, "storage_settings", None)  # Snakemake 9 | 7.32 (none)
if _storage is not None and _storage.default_storage_provider == "fs":
    _write_effective_config(os.path.join(_storage.default_storage_prefix, EFFECTIVE_CONFIG))


def config_sections(*names):
    """The configuration sections a rule's command reads (those present), as its params: a change reruns the rule."""
    return {name: config[name] for name in names if name in config}


def training_settings(wildcards):
    """What `goldmine train` reads for one method: its family's settings and the threads."""
    family = METHOD_FAMILIES[wildcards.method]
    # A family left out of the config has only defaults (Snakemake fills none in behind a $ref).
    return {"threads": config["training"]["threads"], family: config["training"].get(family, {})}


def chunk_index(wildcards):
    """0-based chunk index of a scatter item such as '2-of-4'."""
    return int(wildcards.scatteritem.split("-of-")[0]) - 1


def parton_events(wildcards):
    """The LHE events of a chunk: generated, or the chunk's file of the external sample."""
    if "external" in config:
        return config["external"]["files"][chunk_index(wildcards)]
    return f"{RESULTS}/lhe/{wildcards.scatteritem}.lhe.gz"


def detector_events(wildcards):
    """Showered particles when the shower is on, else the parton-level events (or the external Delphes file,
    or that of MadGraph's job with a Delphes card)."""
    if MADGRAPH_DELPHES:
        return f"{RESULTS}/delphes/{wildcards.scatteritem}.root"
    if config["shower"]["enabled"]:
        return f"{RESULTS}/shower/{wildcards.scatteritem}.h5"
    return parton_events(wildcards)


def detector_card(wildcards):
    """The detector card when one is configured (a change of the card reruns the detector), else none."""
    return config["detector"].get("card", [])


def training_sample(wildcards):
    """SALLY/SALLINO learn from the local-score sample, the ratio and density methods from the ratio sample."""
    family = METHOD_FAMILIES[wildcards.method]
    return f"{RESULTS}/samples/{'local_score' if family == 'local_score' else 'ratio'}.h5"


def trained_models(suffix):
    """A file of every ensemble member of every configured method: the model (pt) or its metadata (json)."""
    return expand(
        f"{RESULTS}/models/{{method}}/{{member}}.{suffix}",
        method=config["training"]["methods"],
        member=range(config["training"]["ensemble"]),
    )


def nuisance_model():
    """The per-nuisance ratio networks (rule train_nuisances) where a ratio or density method is profiled over
    shape variations: the configured tilts or, with `weights`, the nuisance parameters of an external sample."""
    systematics = config["inference"].get("systematics", {})
    variations = systematics.get("weights", True) and any(
        "up" in entry for entry in config.get("external", {}).get("systematics", {}).values()
    )
    learned = any(METHOD_FAMILIES[method] != "local_score" for method in config["training"]["methods"])
    return [f"{RESULTS}/models/nuisances.pt"] if learned and (systematics.get("tilts") or variations) else []


def calibration_sample():
    """The ratio training sample, whose events at the reference point calibrate the learned ratios
    (inference.ratio_calibration), where a ratio or density method is trained and the calibration is on."""
    events = config["inference"].get("ratio_calibration", {}).get("events", 0)
    learned = any(METHOD_FAMILIES[method] != "local_score" for method in config["training"]["methods"])
    return [f"{RESULTS}/samples/ratio.h5"] if learned and events > 0 else []


def front_page():
    """The report's front page: the run's own (rule summarise) once it exists, else a placeholder."""
    if os.path.exists(FRONT_PAGE):
        return os.path.abspath(FRONT_PAGE)
    return "workflow/report/workflow.rst"


def final_outputs():
    if "measurement" in config:
        # The measurement at the design's recommendation and at a naive setting is the analysis
        # (workflow/rules/measurement.smk); the one at process.sqrt_s is not run.
        return [f"{RESULTS}/check.txt", f"{RESULTS}/design.json", f"{RESULTS}/plots/design.png",
                f"{RESULTS}/measurement.json", f"{RESULTS}/plots/measurement.png", MEASUREMENT_TABLE]
    return [
        f"{RESULTS}/check.txt",
        SUMMARY_TABLE,
        FRONT_PAGE,
        f"{RESULTS}/inference/fisher.json",
        f"{RESULTS}/inference/limits.json",
        f"{RESULTS}/inference/validation.json",
        f"{RESULTS}/inference/histogram_workspace.json",
        *expand(f"{RESULTS}/plots/{{plot}}.{{suffix}}", plot=PLOTS, suffix=("png", "pdf")),
        # Experiment design (workflow/rules/design.smk), when configured.
        *([f"{RESULTS}/design.json", f"{RESULTS}/plots/design.png"] if "design" in config else []),
    ]


# Experiment design (workflow/rules/design.smk). Without a `design` section its rules exist, but no
# target asks for them (and `snakemake design` says why).
DESIGN = f"{RESULTS}/design"
_design = config.get("design", {"initial_points": 0, "batch_size": 0, "rounds": 0})
# Points per round; keep equal to goldmine.experiment.loop.round_sizes and evaluation_index (this
# file parses without goldmine): `goldmine design run` and the workflow use the same seeds.
DESIGN_ROUNDS = [_design["initial_points"]] + [_design["batch_size"]] * _design["rounds"]
# What a point's configuration carries to the jobs downstream of its proposal.
DESIGN_SECTIONS = ("process", "generation", "detector", "observables", "cuts", "efficiencies", "inference", "design")


def design_points(round_number):
    """The configuration of every point of a round."""
    return [f"{DESIGN}/round{round_number}/{index}.yaml" for index in range(DESIGN_ROUNDS[round_number])]


def design_evaluations(rounds):
    """The evaluation (EIG ± error) of every point of the given rounds."""
    return [f"{DESIGN}/round{r}/{index}.json" for r in rounds for index in range(DESIGN_ROUNDS[r])]


def design_evaluation_index(wildcards):
    """A point's number over all rounds: its seeds (--chunk)."""
    return sum(DESIGN_ROUNDS[: int(wildcards.round)]) + int(wildcards.point)


def design_target(wildcards):
    """The design's outputs; an error that names the missing section when the config has none."""
    if "design" not in config:
        raise ValueError("invalid configuration: the target `design` needs a `design` section in the configuration")
    return [f"{RESULTS}/design.json", f"{RESULTS}/plots/design.png"]


# The measurement at the design's recommended and at a naive setting (workflow/rules/measurement.smk).
MEASUREMENT = f"{RESULTS}/measurement"
MEASUREMENT_TABLE = f"{RESULTS}/measurement.txt"
# What a measurement's configuration carries to the jobs downstream (as DESIGN_SECTIONS, with training).
MEASUREMENT_SECTIONS = DESIGN_SECTIONS + ("finite_differences", "mining", "training", "measurement")


def measurement_chunk(wildcards):
    """The chunk (seeds) of a measurement's sample: apart from the analysis's and the design's chunks."""
    return 1000 + 2 * ("chosen", "naive").index(wildcards.label) + ("test", "pool").index(wildcards.sample)


def measurement_truth(wildcards):
    """The true θ of the pseudo-data, as `goldmine pseudodata` options."""
    return " ".join(f"--theta {value}" for value in config["measurement"]["truth"])


def measurement_models(wildcards):
    """The local-score models a measurement's infer reads (the methods that need no morphing)."""
    return expand(f"{MEASUREMENT}/{wildcards.label}/models/{{method}}/{{member}}.pt",
                  method=config["training"]["methods"], member=range(config["training"]["ensemble"]))


def write_report():
    """`snakemake --report` for this run, in a separate Snakemake (one that writes a report runs no
    jobs and no handlers, so it cannot recurse); the effective configuration stands for the
    configuration files and --config values this run merged. A failure costs the report only."""
    command = [sys.executable, "-m", "snakemake", "--snakefile", workflow.main_snakefile, "--directory", os.getcwd(),
               "--configfile", EFFECTIVE_CONFIG, "--report", REPORT]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode:
        print(f"goldmine: the report was not written ({' '.join(command)}):\n{result.stderr[-2000:]}", file=sys.stderr)
    else:
        print(f"goldmine: report {REPORT}", file=sys.stderr)
