rule train:
    input:
        config=EFFECTIVE_CONFIG,
        sample="results/samples/{method}.h5",
        setup="results/setup.h5",
    output:
        model="results/models/{method}.pt",
        metadata="results/models/{method}.json",
    wildcard_constraints:
        method="|".join(METHODS),
    threads: config["training"]["threads"]
    log:
        "logs/train/{method}.log",
    benchmark:
        "results/benchmarks/train/{method}.tsv",
    shell:
        "goldmine train --config {input.config} --method {wildcards.method} --sample {input.sample} "
        "--setup {input.setup} -o {output.model} 2> {log}"
