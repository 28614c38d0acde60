# goldmine: an EFT measurement by simulation-based inference, from event generation to limits.
# This file is the table of contents; the stages live in workflow/rules/*.smk and every rule
# calls one `goldmine <stage>` command (see `goldmine --help`).
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"


scattergather:
    chunks=config["generation"]["chunks"],


include: "workflow/rules/generate.smk"
include: "workflow/rules/detect.smk"
include: "workflow/rules/mine.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/infer.smk"
include: "workflow/rules/plot.smk"


rule all:
    input:
        final_outputs(),
    default_target: True
