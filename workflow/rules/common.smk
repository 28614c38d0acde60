# Configuration validation, the effective configuration, the paths of one analysis and the
# input functions; no rules.
#
# Reruns: a change reruns only what it affects. Every `goldmine` command reads the validated
# configuration, defaults filled in, from one file (EFFECTIVE_CONFIG). This file is written
# here, while the workflow is parsed, and only when its content changed; rules take it as an
# ancient() input, so its time stamp never triggers a rerun. What triggers one is `params.config`
# of each rule: the configuration sections its command reads (`config_sections`). Snakemake
# (7.32 and 9.x alike) records a job's params with its outputs and reruns the job when they
# differ (the default rerun trigger "params"); the jobs downstream then rerun because their
# inputs are newer. So a rule must list every section its command reads, and no others:
# a new inference.luminosity reruns infer and plot, new training settings reuse the events
# and samples. Per-section files would do the same with more files and more code; a
# `run:` rule cannot, since REANA dispatches only `shell:` jobs.
#
# One analysis, one folder: every output lies under results/<name>/ and every log under
# logs/<name>/ (`name` in the config), so two analyses never overwrite each other.
import os

import yaml

from goldmine.config import ConfigError, validate
from goldmine.io.atomic import atomic_output
from goldmine.ml import METHODS, family_of, sample_of

# A detector card given relative to the workflow (as the shipped ones are) is found from any
# working directory; resolved before validation, which loads the card.
_card = (config.get("detector") or {}).get("card")
if isinstance(_card, str) and not os.path.exists(_card):
    config["detector"]["card"] = os.path.join(workflow.basedir, _card)

try:
    config.update(validate(config))
except ConfigError as error:
    raise ValueError(f"invalid configuration: {error}") from None

# Snakemake merges a --configfile into config/config.yaml: without a name of its own, another
# analysis would take the default's name and overwrite the default's results.
_command_line = getattr(workflow, "config_settings", workflow).overwrite_config  # Snakemake 9 | 7.32
if workflow.overwrite_configfiles and "name" not in _command_line:
    raise ValueError(
        "invalid configuration: give the analysis of --configfile its own `name` (its folder in results/ and "
        f"logs/); without one it is {config['name']!r}, the name of config/config.yaml it is merged into"
    )

RESULTS = f"results/{config['name']}"
LOGS = f"logs/{config['name']}"
BENCHMARKS = f"{RESULTS}/benchmarks"
EFFECTIVE_CONFIG = f"{RESULTS}/config.yaml"


def _write_effective_config(path):
    """Write the validated configuration to ``path`` unless it holds exactly that already."""
    text = yaml.safe_dump(dict(config), sort_keys=False)
    if not os.path.exists(path) or open(path).read() != text:
        with atomic_output(path) as temporary:
            temporary.write_text(text)


_write_effective_config(EFFECTIVE_CONFIG)


def config_sections(*names):
    """The configuration sections a rule's command reads, as its params: a change reruns the rule."""
    return {name: config[name] for name in names}


def training_settings(wildcards):
    """What `goldmine train` reads for one method: its family's settings and the threads."""
    family = family_of(wildcards.method)
    return {"threads": config["training"]["threads"], family: config["training"][family]}


def chunk_index(wildcards):
    """0-based chunk index of a scatter item such as '2-of-4'."""
    return int(wildcards.scatteritem.split("-of-")[0]) - 1


def detector_events(wildcards):
    """Showered particles when the shower is on, else the parton-level LHE events."""
    if config["shower"]["enabled"]:
        return f"{RESULTS}/shower/{wildcards.scatteritem}.h5"
    return f"{RESULTS}/lhe/{wildcards.scatteritem}.lhe.gz"


def detector_card(wildcards):
    """The detector card when one is configured (a change of the card reruns the detector), else none."""
    return config["detector"].get("card", [])


def training_sample(wildcards):
    """SALLY/SALLINO learn from the local-score sample, the ratio and density methods from the ratio sample."""
    return f"{RESULTS}/samples/{sample_of(wildcards.method)}.h5"


def trained_models(suffix):
    """A file of every ensemble member of every configured method: the model (pt) or its metadata (json)."""
    return expand(
        f"{RESULTS}/models/{{method}}/{{member}}.{suffix}",
        method=config["training"]["methods"],
        member=range(config["training"]["ensemble"]),
    )


def final_outputs():
    return [
        f"{RESULTS}/inference/fisher.json",
        f"{RESULTS}/inference/limits.json",
        f"{RESULTS}/inference/validation.json",
        f"{RESULTS}/inference/histogram_workspace.json",
        f"{RESULTS}/plots/limits.png",
    ]
