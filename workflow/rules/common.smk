# Configuration validation and input functions; no rules but the effective config.
import os

import yaml

from goldmine.config import ConfigError, validate
from goldmine.ml import METHODS, sample_of

try:
    config.update(validate(config))
except ConfigError as error:
    raise ValueError(f"invalid configuration: {error}") from None

# A detector card given relative to the workflow (as the shipped ones are) is found from any working directory.
if "card" in config["detector"] and not os.path.exists(config["detector"]["card"]):
    config["detector"]["card"] = os.path.join(workflow.basedir, config["detector"]["card"])

EFFECTIVE_CONFIG = "results/config.yaml"


def chunk_index(wildcards):
    """0-based chunk index of a scatter item such as '2-of-4'."""
    return int(wildcards.scatteritem.split("-of-")[0]) - 1


def detector_input(wildcards):
    """Showered particles when the shower is on, else the parton-level LHE events; and the card."""
    inputs = [f"results/shower/{wildcards.scatteritem}.h5" if config["shower"]["enabled"]
              else f"results/lhe/{wildcards.scatteritem}.lhe.gz"]
    if "card" in config["detector"]:
        inputs.append(config["detector"]["card"])
    return inputs


def training_sample(wildcards):
    """SALLY/SALLINO learn from the local-score sample, the ratio and density methods from the ratio sample."""
    return f"results/samples/{sample_of(wildcards.method)}.h5"


def trained_models():
    """Every ensemble member of every configured method."""
    return expand(
        "results/models/{method}/{member}.pt",
        method=config["training"]["methods"],
        member=range(config["training"]["ensemble"]),
    )


def final_outputs():
    return [
        "results/inference/fisher.json",
        "results/inference/limits.json",
        "results/inference/validation.json",
        "results/inference/histogram_workspace.json",
        "results/plots/limits.png",
    ]


rule effective_config:
    output:
        EFFECTIVE_CONFIG,
    params:
        config=lambda wildcards: config,
    log:
        "logs/config.log",
    run:
        # The validated config, defaults included, that every `goldmine` call reads.
        with open(output[0], "w") as handle:
            yaml.safe_dump(dict(params.config), handle, sort_keys=False)
