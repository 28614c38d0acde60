rule train:
    input:
        config=ancient(EFFECTIVE_CONFIG),
        sample=training_sample,
        setup=f"{RESULTS}/setup.h5",
    output:
        model=f"{RESULTS}/models/{{method}}/{{member}}.pt",
        metadata=f"{RESULTS}/models/{{method}}/{{member}}.json",
    wildcard_constraints:
        method="|".join(METHOD_FAMILIES),
        member=r"\d+",
    params:
        # Only this method's family: a new method or other settings of another family retrain nothing here.
        config=training_settings,
    threads: config["training"]["threads"]
    resources:
        kubernetes_memory_limit="4Gi",
        # A cluster profile maps this to a GPU request (profiles/slurm); locally and on REANA (no GPUs) it is ignored.
        gpu=1,
    log:
        f"{LOGS}/train/{{method}}/{{member}}.log",
    benchmark:
        f"{BENCHMARKS}/train/{{method}}/{{member}}.tsv"
    container:
        GOLDMINE_IMAGE
    conda:
        GOLDMINE_ENV
    shell:
        "goldmine train --config {input.config} --method {wildcards.method} --member {wildcards.member} "
        "--sample {input.sample} --setup {input.setup} -o {output.model} 2> {log}"


rule train_nuisances:
    input:
        config=ancient(EFFECTIVE_CONFIG),
        events=f"{RESULTS}/events.h5",
    output:
        model=f"{RESULTS}/models/nuisances.pt",
        metadata=f"{RESULTS}/models/nuisances.json",
    params:
        # the networks' settings, the systematics they learn and the split and reference point of mining
        config=lambda wildcards: {
            "threads": config["training"]["threads"],
            "nuisance": config["training"].get("nuisance", {}),
            "systematics": config["inference"]["systematics"],
            "mining": config["mining"],
        },
    threads: config["training"]["threads"]
    resources:
        kubernetes_memory_limit="4Gi",
    log:
        f"{LOGS}/train/nuisances.log",
    benchmark:
        f"{BENCHMARKS}/train/nuisances.tsv"
    container:
        GOLDMINE_IMAGE
    conda:
        GOLDMINE_ENV
    shell:
        "goldmine train-nuisances --config {input.config} --events {input.events} -o {output.model} 2> {log}"
