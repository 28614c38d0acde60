# The measurement a design is for (config section `measurement`, with `design`): the parameters
# measured from pseudo-data at the design's recommended setting and at `measurement.naive`.
#
# Each setting ({label}: chosen, naive) is an ordinary analysis whose configuration
# `goldmine design measurement-configs` writes once design.json exists (with its own parameter range,
# so its own setup): `goldmine generate` and
# `goldmine detect` make its test events and, in another chunk (another seed), the pool that
# `goldmine pseudodata` draws the data from at the true θ with inference.luminosity; `goldmine mine`
# and `goldmine train` make its SALLY, and `goldmine infer --data` its observed results. `goldmine
# design compare` puts the two side by side (measurement.json, its table and plot, in the report).
# Parameters that do not morph (sin²θ_W): the configurations have `finite_differences.grid: true`, so the
# setup's benchmarks include the θ grid that infer scans.


rule measurement_configs:
    input:
        config=ancient(EFFECTIVE_CONFIG),
        design=f"{RESULTS}/design.json",
        setup=f"{RESULTS}/setup.h5",
    output:
        chosen=f"{MEASUREMENT}/chosen.yaml",
        naive=f"{MEASUREMENT}/naive.yaml",
    params:
        config=config_sections(*MEASUREMENT_SECTIONS),
    log:
        f"{LOGS}/measurement/configs.log",
    container:
        GOLDMINE_IMAGE
    conda:
        GOLDMINE_ENV
    resources:
        kubernetes_memory_limit="1Gi",
    shell:
        "goldmine design measurement-configs --config {input.config} --design {input.design} --setup {input.setup} "
        "--chosen {output.chosen} --naive {output.naive} 2> {log}"


rule measurement_setup:
    input:
        config=f"{MEASUREMENT}/{{label}}.yaml",
    output:
        f"{MEASUREMENT}/{{label}}/setup.h5",
    log:
        f"{LOGS}/measurement/setup-{{label}}.log",
    wildcard_constraints:
        label="chosen|naive",
    container:
        GOLDMINE_IMAGE
    conda:
        GOLDMINE_ENV
    resources:
        kubernetes_memory_limit="1Gi",
    shell:
        "goldmine setup --config {input.config} -o {output} 2> {log}"


rule measurement_generate:
    input:
        config=f"{MEASUREMENT}/{{label}}.yaml",
        setup=f"{MEASUREMENT}/{{label}}/setup.h5",
    output:
        temp(f"{MEASUREMENT}/{{label}}/{{sample}}.lhe.gz"),
    params:
        chunk=measurement_chunk,
    log:
        f"{LOGS}/measurement/generate-{{label}}-{{sample}}.log",
    wildcard_constraints:
        label="chosen|naive",
        sample="test|pool",
    container:
        GOLDMINE_IMAGE
    conda:
        GOLDMINE_ENV
    resources:
        kubernetes_memory_limit="2Gi",
    shell:
        "goldmine generate --config {input.config} --setup {input.setup} --chunk {params.chunk} -o {output} "
        "2> {log}"


rule measurement_detect:
    input:
        config=f"{MEASUREMENT}/{{label}}.yaml",
        setup=f"{MEASUREMENT}/{{label}}/setup.h5",
        events=f"{MEASUREMENT}/{{label}}/{{sample}}.lhe.gz",
    output:
        f"{MEASUREMENT}/{{label}}/{{sample}}.h5",
    params:
        chunk=measurement_chunk,
    log:
        f"{LOGS}/measurement/detect-{{label}}-{{sample}}.log",
    wildcard_constraints:
        label="chosen|naive",
        sample="test|pool",
    container:
        GOLDMINE_IMAGE
    conda:
        GOLDMINE_ENV
    resources:
        kubernetes_memory_limit="2Gi",
    shell:
        "goldmine detect --config {input.config} --setup {input.setup} --input {input.events} "
        "--chunk {params.chunk} -o {output} 2> {log}"


rule measurement_pseudodata:
    input:
        pool=f"{MEASUREMENT}/{{label}}/pool.h5",
    output:
        f"{MEASUREMENT}/{{label}}/data.h5",
    params:
        theta=measurement_truth,
        luminosity=config["inference"]["luminosity"],
        seed=config.get("measurement", {}).get("seed", 1),
    log:
        f"{LOGS}/measurement/pseudodata-{{label}}.log",
    wildcard_constraints:
        label="chosen|naive",
    container:
        GOLDMINE_IMAGE
    conda:
        GOLDMINE_ENV
    resources:
        kubernetes_memory_limit="2Gi",
    shell:
        "goldmine pseudodata --events {input.pool} {params.theta} --luminosity {params.luminosity} "
        "--seed {params.seed} -o {output} 2> {log}"


rule measurement_mine:
    input:
        config=f"{MEASUREMENT}/{{label}}.yaml",
        events=f"{MEASUREMENT}/{{label}}/test.h5",
    output:
        local_score=temp(f"{MEASUREMENT}/{{label}}/samples/local_score.h5"),
        test=f"{MEASUREMENT}/{{label}}/samples/test.h5",
    params:
        # written only where the parameters morph (the local-score methods are those that need no morphing)
        ratio=lambda wildcards: f"{MEASUREMENT}/{wildcards.label}/samples/ratio.h5",
    log:
        f"{LOGS}/measurement/mine-{{label}}.log",
    wildcard_constraints:
        label="chosen|naive",
    container:
        GOLDMINE_IMAGE
    conda:
        GOLDMINE_ENV
    resources:
        kubernetes_memory_limit="4Gi",
    shell:
        "goldmine mine --config {input.config} --events {input.events} --local-score {output.local_score} "
        "--ratio {params.ratio} --test {output.test} 2> {log}"


rule measurement_train:
    input:
        config=f"{MEASUREMENT}/{{label}}.yaml",
        sample=f"{MEASUREMENT}/{{label}}/samples/local_score.h5",
        setup=f"{MEASUREMENT}/{{label}}/setup.h5",
    output:
        model=f"{MEASUREMENT}/{{label}}/models/{{method}}/{{member}}.pt",
        metadata=f"{MEASUREMENT}/{{label}}/models/{{method}}/{{member}}.json",
    wildcard_constraints:
        label="chosen|naive",
        method="sally|sallino",
        member=r"\d+",
    threads: config["training"]["threads"]
    log:
        f"{LOGS}/measurement/train-{{label}}-{{method}}-{{member}}.log",
    container:
        GOLDMINE_IMAGE
    conda:
        GOLDMINE_ENV
    resources:
        kubernetes_memory_limit="4Gi",
    shell:
        "goldmine train --config {input.config} --method {wildcards.method} --member {wildcards.member} "
        "--sample {input.sample} --setup {input.setup} -o {output.model} 2> {log}"


rule measurement_infer:
    input:
        config=f"{MEASUREMENT}/{{label}}.yaml",
        test=f"{MEASUREMENT}/{{label}}/samples/test.h5",
        data=f"{MEASUREMENT}/{{label}}/data.h5",
        models=measurement_models,
    output:
        fisher=f"{MEASUREMENT}/{{label}}/inference/fisher.json",
        limits=f"{MEASUREMENT}/{{label}}/inference/limits.json",
        validation=f"{MEASUREMENT}/{{label}}/inference/validation.json",
        workspace=f"{MEASUREMENT}/{{label}}/inference/histogram_workspace.json",
    wildcard_constraints:
        label="chosen|naive",
    threads: config["training"]["threads"]
    log:
        f"{LOGS}/measurement/infer-{{label}}.log",
    container:
        GOLDMINE_IMAGE
    conda:
        GOLDMINE_ENV
    resources:
        kubernetes_memory_limit="4Gi",
    shell:
        "goldmine infer --config {input.config} --test {input.test} --data {input.data} --fisher {output.fisher} "
        "--limits {output.limits} --validation {output.validation} --workspace {output.workspace} "
        "{input.models} 2> {log}"


rule measurement_compare:
    input:
        config=ancient(EFFECTIVE_CONFIG),
        design=f"{RESULTS}/design.json",
        chosen=f"{MEASUREMENT}/chosen/inference/limits.json",
        naive=f"{MEASUREMENT}/naive/inference/limits.json",
    output:
        measurement=report(f"{RESULTS}/measurement.json", caption="../report/measurement.rst", category="Measurement"),
        table=MEASUREMENT_TABLE,
        plot=report(f"{RESULTS}/plots/measurement.png", caption="../report/measurement.rst", category="Measurement"),
        pdf=f"{RESULTS}/plots/measurement.pdf",
    params:
        config=config_sections("measurement"),
    log:
        f"{LOGS}/measurement/compare.log",
    container:
        GOLDMINE_IMAGE
    conda:
        GOLDMINE_ENV
    resources:
        kubernetes_memory_limit="1Gi",
    shell:
        "goldmine design compare --config {input.config} --design {input.design} --chosen {input.chosen} "
        "--naive {input.naive} -o {output.measurement} --plot {output.plot} --table {output.table} > {log} 2>&1"
