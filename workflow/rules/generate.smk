rule setup:
    input:
        config=EFFECTIVE_CONFIG,
    output:
        "results/setup.h5",
    log:
        "logs/setup.log",
    benchmark:
        "results/benchmarks/setup.tsv",
    shell:
        "goldmine setup --config {input.config} -o {output} 2> {log}"


rule generate:
    input:
        config=EFFECTIVE_CONFIG,
        setup="results/setup.h5",
    output:
        "results/lhe/{scatteritem}.lhe.gz",
    params:
        chunk=chunk_index,
    log:
        "logs/generate/{scatteritem}.log",
    benchmark:
        "results/benchmarks/generate/{scatteritem}.tsv",
    shell:
        "goldmine generate --config {input.config} --setup {input.setup} --chunk {params.chunk} -o {output} 2> {log}"
