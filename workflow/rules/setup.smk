rule setup:
    input:
        config=ancient(EFFECTIVE_CONFIG),
    output:
        f"{RESULTS}/setup.h5",
    params:
        # external: the benchmarks of an external sample are the basis.
        config=config_sections("process", "morphing", "external"),
    log:
        f"{LOGS}/setup.log",
    benchmark:
        f"{BENCHMARKS}/setup.tsv"
    container:
        GOLDMINE_IMAGE
    conda:
        GOLDMINE_ENV
    resources:
        kubernetes_memory_limit="1Gi",
    shell:
        "goldmine setup --config {input.config} -o {output} 2> {log}"
