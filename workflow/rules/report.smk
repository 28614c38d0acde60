# The end of a run: the table of limits and the report's front page (rule summarise), printed and
# written by the onsuccess handler, which also writes the report of the run (results/<name>/report.html).
import subprocess
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


onsuccess:
    # Only a run whose targets include the table prints it (a run of a single stage does not).
    if os.path.exists(SUMMARY_TABLE):
        print(f"\n{open(SUMMARY_TABLE).read()}", file=sys.stderr)
        write_report()
