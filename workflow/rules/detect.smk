rule shower:
    input:
        config=ancient(EFFECTIVE_CONFIG),
        lhe=parton_events,
    output:
        f"{RESULTS}/shower/{{scatteritem}}.h5",
    params:
        config=config_sections("shower"),
        chunk=chunk_index,
    log:
        f"{LOGS}/shower/{{scatteritem}}.log",
    benchmark:
        f"{BENCHMARKS}/shower/{{scatteritem}}.tsv"
    container:
        GOLDMINE_IMAGE
    conda:
        GOLDMINE_ENV
    resources:
        kubernetes_memory_limit="2Gi",
    shell:
        "goldmine shower --config {input.config} --lhe {input.lhe} --chunk {params.chunk} -o {output} 2> {log}"


rule detect:
    input:
        config=ancient(EFFECTIVE_CONFIG),
        setup=f"{RESULTS}/setup.h5",
        events=detector_events,
        # `goldmine detect` reads the card named in the config; as an input, an edited card reruns this rule.
        card=detector_card,
    output:
        f"{RESULTS}/events/{{scatteritem}}.h5",
    params:
        # generation: the sampling benchmark recorded with the events; external: the weight ids of the files.
        config=config_sections("detector", "observables", "cuts", "efficiencies", "generation", "external"),
        chunk=chunk_index,
    log:
        f"{LOGS}/detect/{{scatteritem}}.log",
    benchmark:
        f"{BENCHMARKS}/detect/{{scatteritem}}.tsv"
    container:
        GOLDMINE_IMAGE
    conda:
        GOLDMINE_ENV
    resources:
        kubernetes_memory_limit="2Gi",
    shell:
        "goldmine detect --config {input.config} --setup {input.setup} --input {input.events} "
        "--chunk {params.chunk} -o {output} 2> {log}"


rule merge:
    input:
        gather.chunks(f"{RESULTS}/events/{{scatteritem}}.h5"),
    output:
        f"{RESULTS}/events.h5",
    log:
        f"{LOGS}/merge.log",
    benchmark:
        f"{BENCHMARKS}/merge.tsv"
    container:
        GOLDMINE_IMAGE
    conda:
        GOLDMINE_ENV
    resources:
        kubernetes_memory_limit="2Gi",
    shell:
        "goldmine merge -o {output} {input} 2> {log}"
