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
# blocks (how many jobs), upper_limits (also the upper limits on mu), threads (per job), plot
# (labels, fixed, title of the exclusion plot). Two variants (config/reinterpret-sbottom.yaml):
# - archive: the published archive (.tar.gz, as HEPData serves it); background and patches are
#   paths inside it, and the first job unpacks it into results/reinterpret/<name>/published/;
# - regions: {REGION: {background, patches}} instead of background and patches: several signal
#   regions on the same signal points, each in its own blocks, combined per point by the region
#   with the best expected CLs (goldmine reinterpret-merge --best-expected).
import glob
import json
import os
import shlex
import tarfile

from snakemake.utils import min_version

min_version("7.32")

# A copy of GOLDMINE_IMAGE and GOLDMINE_ENV of workflow/rules/common.smk (which needs an analysis's
# configuration); tests/test_reinterpret_workflow.py checks they are equal.
GOLDMINE_IMAGE = "docker://ghcr.io/goldmine-hep/goldmine:0.1.0"
GOLDMINE_ENV = "../envs/goldmine.yaml"

RESULTS = f"results/reinterpret/{config['name']}"
LOGS = f"logs/reinterpret/{config['name']}"
ARCHIVE = config.get("archive")
# Where the archive's members are unpacked; without an archive the paths are the configuration's.
UNPACKED = f"{RESULTS}/published" if ARCHIVE else None
if ARCHIVE:
    with tarfile.open(ARCHIVE) as _tar:
        # (no str.removeprefix: REANA's engine image may run a Python older than 3.9)
        _MEMBERS = {member.name[2:] if member.name.startswith("./") else member.name
                    for member in _tar.getmembers() if member.isfile()}


def _archived_json(name):
    """A JSON member of the archive (a patchset, read while parsing for its members' names)."""
    with tarfile.open(ARCHIVE) as tar:
        return json.load(tar.extractfile(tar.getmember(name)))


def _local(path):
    """A path of the configuration as the jobs read it (inside UNPACKED with an archive)."""
    return os.path.join(UNPACKED, path) if UNPACKED else path


def _references(entry):
    """(file, patchset member or None) per patch: a folder's patch.*.json, a patchset's members, else the entry."""
    if ARCHIVE:
        folder = entry.rstrip("/") + "/"
        files = sorted(name for name in _MEMBERS if name.startswith(folder)
                       and os.path.basename(name).startswith("patch.") and name.endswith(".json"))
        content = _archived_json(entry) if entry in _MEMBERS else None
    else:
        files = sorted(glob.glob(os.path.join(entry, "patch.*.json"))) if os.path.isdir(entry) else []
        content = None
        if os.path.isfile(entry):
            with open(entry) as stream:
                content = json.load(stream)
    if files:
        return [(_local(name) if ARCHIVE else name, None) for name in files]
    if isinstance(content, dict) and "patches" in content:
        return [(_local(entry), patch["metadata"]["name"]) for patch in content["patches"]]
    if ARCHIVE and ":" in entry and entry not in _MEMBERS:
        file, _, member = entry.rpartition(":")
        return [(_local(file), member)]
    if not ARCHIVE and ":" in entry and not os.path.exists(entry):
        file, _, member = entry.rpartition(":")
        return [(file, member)]
    return [(_local(entry), None)]


# One likelihood without regions, named "" (its blocks are 0, 1, ...); else one per region.
REGIONS = config.get("regions") or {"": {"background": config["background"], "patches": config["patches"]}}
N_BLOCKS = int(config.get("blocks", 1))
BLOCKS = {}  # block -> (background, [(file, member)])
for _region, _likelihood in REGIONS.items():
    _patches = [reference for entry in _likelihood["patches"] for reference in _references(entry)]
    _n = max(1, min(N_BLOCKS, len(_patches)))
    # Contiguous blocks of nearly equal size: the merged results keep the order of the patches.
    _edges = [k * len(_patches) // _n for k in range(_n + 1)]
    for _k in range(_n):
        BLOCKS[f"{_region}.{_k}" if _region else str(_k)] = (_local(_likelihood["background"]),
                                                             _patches[_edges[_k]:_edges[_k + 1]])


def block_files(wildcards):
    """The files a block reads: its JSON patches or patchsets."""
    return sorted({file for file, _ in BLOCKS[wildcards.block][1]})


def block_patches(wildcards):
    """The block's patches as `goldmine reinterpret` names them: FILE or FILE:NAME."""
    return " ".join(file if member is None else f"{file}:{member}" for file, member in BLOCKS[wildcards.block][1])


def plot_options():
    """The exclusion plot's options of the configuration (`plot`: labels, fixed, title)."""
    plot = config.get("plot") or {}
    words = [f"--label {shlex.quote(label)}" for label in plot.get("labels", [])]
    words += [f"--fixed {int(k)}={float(v)}" for k, v in (plot.get("fixed") or {}).items()]
    if plot.get("title"):
        words.append(f"--title {shlex.quote(plot['title'])}")
    return " ".join(words)


rule all:
    input:
        f"{RESULTS}/results.json",
        f"{RESULTS}/exclusion.png",
    default_target: True


if ARCHIVE:

    rule unpack:
        input:
            ARCHIVE,
        output:
            sorted({file for background, patches in BLOCKS.values() for file in [background, *(f for f, _ in patches)]}),
        params:
            folder=UNPACKED,
        log:
            f"{LOGS}/unpack.log",
        container:
            GOLDMINE_IMAGE
        conda:
            GOLDMINE_ENV
        resources:
            kubernetes_memory_limit="1Gi",
        # --touch: the archive's dates would make the members look older than the archive
        shell:
            "mkdir -p {params.folder} && tar -xzf {input} --touch -C {params.folder} 2> {log}"


rule block:
    input:
        background=lambda wildcards: BLOCKS[wildcards.block][0],
        patches=block_files,
    output:
        f"{RESULTS}/blocks/{{block}}.json",
    params:
        # The block's patches: a change of the patches or of their split reruns the block.
        patches=block_patches,
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


if config.get("regions"):

    rule region:
        input:
            lambda wildcards: [f"{RESULTS}/blocks/{block}.json" for block in BLOCKS
                               if block.rpartition(".")[0] == wildcards.region],
        output:
            f"{RESULTS}/regions/{{region}}.json",
        log:
            f"{LOGS}/regions/{{region}}.log",
        container:
            GOLDMINE_IMAGE
        conda:
            GOLDMINE_ENV
        resources:
            kubernetes_memory_limit="1Gi",
        shell:
            "goldmine reinterpret-merge {input} -o {output} 2> {log}"


rule merge:
    input:
        expand(f"{RESULTS}/regions/{{region}}.json", region=list(REGIONS)) if config.get("regions")
        else expand(f"{RESULTS}/blocks/{{block}}.json", block=list(BLOCKS)),
    output:
        results=f"{RESULTS}/results.json",
        plot=f"{RESULTS}/exclusion.png",
    params:
        combine="--best-expected" if config.get("regions") else "",
        # a function: the labels may hold braces (LaTeX), which a string here would format
        plot=lambda wildcards: plot_options(),
    log:
        f"{LOGS}/merge.log",
    container:
        GOLDMINE_IMAGE
    conda:
        GOLDMINE_ENV
    resources:
        kubernetes_memory_limit="1Gi",
    shell:
        "goldmine reinterpret-merge {input} {params.combine} -o {output.results} --plot {output.plot} "
        "{params.plot} 2> {log}"
