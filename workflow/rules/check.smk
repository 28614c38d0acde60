rule check:
    output:
        EFFECTIVE_CONFIG,
    params:
        # All of it: any change of the configuration is checked again before a stage reads it.
        config=whole_config(),
    log:
        f"{LOGS}/check.log",
    container:
        GOLDMINE_IMAGE
    conda:
        GOLDMINE_ENV
    resources:
        kubernetes_memory_limit="1Gi",
    shell:
        "printf '%s' {params.config} | goldmine check - -o {output} > {log} 2>&1"
