rule detect:
    input:
        config=EFFECTIVE_CONFIG,
        setup="results/setup.h5",
        lhe="results/lhe/{scatteritem}.lhe.gz",
    output:
        "results/events/{scatteritem}.h5",
    params:
        chunk=chunk_index,
    log:
        "logs/detect/{scatteritem}.log",
    benchmark:
        "results/benchmarks/detect/{scatteritem}.tsv",
    shell:
        "goldmine detect --config {input.config} --setup {input.setup} --lhe {input.lhe} "
        "--chunk {params.chunk} -o {output} 2> {log}"


rule merge:
    input:
        gather.chunks("results/events/{scatteritem}.h5"),
    output:
        "results/events.h5",
    log:
        "logs/merge.log",
    benchmark:
        "results/benchmarks/merge.tsv",
    shell:
        "goldmine merge -o {output} {input} 2> {log}"
