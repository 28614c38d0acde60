rule train:
    input:
        config=EFFECTIVE_CONFIG,
        sample=training_sample,
        setup="results/setup.h5",
    output:
        model="results/models/{method}/{member}.pt",
        metadata="results/models/{method}/{member}.json",
    wildcard_constraints:
        method="|".join(METHODS),
        member=r"\d+",
    threads: config["training"]["threads"]
    resources:
        # A cluster profile maps this to a GPU request (profiles/slurm); locally it is ignored.
        gpu=1,
    log:
        "logs/train/{method}/{member}.log",
    benchmark:
        "results/benchmarks/train/{method}/{member}.tsv"
    shell:
        "goldmine train --config {input.config} --method {wildcards.method} --member {wildcards.member} "
        "--sample {input.sample} --setup {input.setup} -o {output.model} --no-progress 2> {log}"
