# goldmine: an EFT measurement by simulation-based inference, from event generation to limits.
# This file is the table of contents; the stages live in workflow/rules/*.smk and every rule
# calls one `goldmine <stage>` command (see `goldmine --help`) in its shell. It parses without goldmine
# installed, with Snakemake 7.32 as well as 9.x: REANA runs it unchanged (docs/reana.md).
from snakemake.utils import min_version

# 7.32: REANA's Snakemake engine.
min_version("7.32")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"


# What the run did and the table of its limits, written by the run itself (workflow/rules/report.smk).
report: front_page()


include: "workflow/rules/check.smk"


scattergather:
    chunks=N_CHUNKS,


include: "workflow/rules/setup.smk"


# The generator: an embedded process, or MadGraph in the generator container (an external sample needs neither).
if MADGRAPH:

    include: "workflow/rules/madgraph.smk"

else:

    include: "workflow/rules/generate.smk"

include: "workflow/rules/detect.smk"
include: "workflow/rules/mine.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/infer.smk"
include: "workflow/rules/plot.smk"
include: "workflow/rules/report.smk"
# Experiment design, when the config has a `design` section (target: `snakemake design`).
include: "workflow/rules/design.smk"
# The measurement at the design's recommendation and at a naive setting, when the config has a `measurement` section.
include: "workflow/rules/measurement.smk"


rule all:
    input:
        final_outputs(),
    default_target: True


# The experiment design alone (config section `design`; workflow/rules/design.smk).
rule design:
    input:
        design_target,
