rule generate:
    input:
        config=ancient(EFFECTIVE_CONFIG),
        setup=f"{RESULTS}/setup.h5",
    output:
        f"{RESULTS}/lhe/{{scatteritem}}.lhe.gz",
    params:
        config=config_sections("process", "generation"),
        chunk=chunk_index,
    log:
        f"{LOGS}/generate/{{scatteritem}}.log",
    benchmark:
        f"{BENCHMARKS}/generate/{{scatteritem}}.tsv"
    container:
        GOLDMINE_IMAGE
    conda:
        GOLDMINE_ENV
    resources:
        kubernetes_memory_limit="2Gi",
    shell:
        "goldmine generate --config {input.config} --setup {input.setup} --chunk {params.chunk} -o {output} 2> {log}"
