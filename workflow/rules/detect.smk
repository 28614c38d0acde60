rule shower:
    input:
        config=EFFECTIVE_CONFIG,
        lhe="results/lhe/{scatteritem}.lhe.gz",
    output:
        "results/shower/{scatteritem}.h5",
    params:
        chunk=chunk_index,
    log:
        "logs/shower/{scatteritem}.log",
    benchmark:
        "results/benchmarks/shower/{scatteritem}.tsv"
    shell:
        "goldmine shower --config {input.config} --lhe {input.lhe} --chunk {params.chunk} -o {output} > {log} 2>&1"


rule detect:
    input:
        config=EFFECTIVE_CONFIG,
        setup="results/setup.h5",
        events=detector_input,
    output:
        "results/events/{scatteritem}.h5",
    params:
        chunk=chunk_index,
    log:
        "logs/detect/{scatteritem}.log",
    benchmark:
        "results/benchmarks/detect/{scatteritem}.tsv",
    shell:
        "goldmine detect --config {input.config} --setup {input.setup} --input {input.events[0]} "
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
