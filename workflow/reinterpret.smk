# Reinterpretation of a published pyhf likelihood as a workflow (docs/reinterpret.md): the patches
# are split into blocks, one `goldmine reinterpret` job per block, and one job merges the blocks
# into a results JSON and the exclusion plot. The blocks spread over a cluster or REANA like the
# stages of an analysis:
#
#   snakemake -s workflow/reinterpret.smk --configfile config/reinterpret.yaml --cores 2
#
# Like the Snakefile it parses without goldmine (Snakemake 7.32 as well as 9.x) and every rule is
# a shell rule. Configuration: name (results/reinterpret/<name>/), background (the background-only
# workspace), patches (JSON-patch files, folders of patch.*.json, patchset files or PATCHSET:NAME),
# blocks (how many jobs), upper_limits (also the upper limits on mu), threads (per job).
import glob
import json
import os

from snakemake.utils import min_version

min_version("7.32")

# A copy of GOLDMINE_IMAGE and GOLDMINE_ENV of workflow/rules/common.smk (which needs an analysis's
# configuration); tests/test_reinterpret_workflow.py checks they are equal.
GOLDMINE_IMAGE = "docker://ghcr.io/goldmine-hep/goldmine:0.1.0"
GOLDMINE_ENV = "../envs/goldmine.yaml"

RESULTS = f"results/reinterpret/{config['name']}"
LOGS = f"logs/reinterpret/{config['name']}"


def _references(entry):
    """One reference per patch: a folder's patch.*.json, a patchset's members as FILE:NAME, else the entry."""
    if os.path.isdir(entry):
        return sorted(glob.glob(os.path.join(entry, "patch.*.json")))
    if os.path.isfile(entry):
        with open(entry) as stream:
            content = json.load(stream)
        if isinstance(content, dict) and "patches" in content:
            return [f"{entry}:{patch['metadata']['name']}" for patch in content["patches"]]
    return [entry]


PATCHES = [reference for entry in config["patches"] for reference in _references(entry)]
N_BLOCKS = max(1, min(int(config.get("blocks", 1)), len(PATCHES)))
# Contiguous blocks of nearly equal size: the merged results keep the order of the patches.
_EDGES = [k * len(PATCHES) // N_BLOCKS for k in range(N_BLOCKS + 1)]
BLOCKS = {str(k): PATCHES[_EDGES[k]:_EDGES[k + 1]] for k in range(N_BLOCKS)}


def block_files(wildcards):
    """The files a block reads: its JSON patches or patchsets (FILE of FILE:NAME)."""
    return sorted({reference if os.path.exists(reference) else reference.rpartition(":")[0]
                   for reference in BLOCKS[wildcards.block]})


rule all:
    input:
        f"{RESULTS}/results.json",
        f"{RESULTS}/exclusion.png",
    default_target: True


rule block:
    input:
        background=config["background"],
        patches=block_files,
    output:
        f"{RESULTS}/blocks/{{block}}.json",
    params:
        # The block's patches: a change of the patches or of their split reruns the block.
        patches=lambda wildcards: " ".join(BLOCKS[wildcards.block]),
        limits="--upper-limits" if config.get("upper_limits", False) else "",
    threads: int(config.get("threads", 1))
    log:
        f"{LOGS}/blocks/{{block}}.log",
    container:
        GOLDMINE_IMAGE
    conda:
        GOLDMINE_ENV
    resources:
        kubernetes_memory_limit="4Gi",
    shell:
        "goldmine reinterpret {input.background} {params.patches} {params.limits} --json -o {output} "
        "-j {threads} --no-progress > /dev/null 2> {log}"


rule merge:
    input:
        expand(f"{RESULTS}/blocks/{{block}}.json", block=list(BLOCKS)),
    output:
        results=f"{RESULTS}/results.json",
        plot=f"{RESULTS}/exclusion.png",
    log:
        f"{LOGS}/merge.log",
    container:
        GOLDMINE_IMAGE
    conda:
        GOLDMINE_ENV
    resources:
        kubernetes_memory_limit="1Gi",
    shell:
        "goldmine reinterpret-merge {input} -o {output.results} --plot {output.plot} 2> {log}"
