# The end of a run: the table of limits and the report's front page (rule summarise), printed and
# written by the onsuccess handler, which also writes the report of the run (results/<name>/report.html).
import sys


rule summarise:
    input:
        config=ancient(EFFECTIVE_CONFIG),
        limits=f"{RESULTS}/inference/limits.json",
    output:
        table=SUMMARY_TABLE,
        front_page=FRONT_PAGE,
    params:
        # What the front page describes: the whole run, from generation to limits.
        config=config_sections("process", "generation", "shower", "detector", "observables", "mining", "training",
                               "inference"),
    log:
        f"{LOGS}/summarise.log",
    container:
        GOLDMINE_IMAGE
    conda:
        GOLDMINE_ENV
    resources:
        kubernetes_memory_limit="1Gi",
    shell:
        "goldmine summarise --config {input.config} --limits {input.limits} --table {output.table} "
        "--front-page {output.front_page} > {log} 2>&1"


onsuccess:
    # Not a dry run (Snakemake calls no handler then), nor a run that stopped before the first table
    # (the measurement's, for a run whose analysis is the measurement).
    table = MEASUREMENT_TABLE if "measurement" in config else SUMMARY_TABLE
    if os.path.exists(table):
        print(f"\n{open(table).read()}", file=sys.stderr)
        write_report()
