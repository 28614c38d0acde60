rule check:
    input:
        # Not ancient: any change of the configuration is checked again.
        EFFECTIVE_CONFIG,
    output:
        f"{RESULTS}/check.txt",
    log:
        f"{LOGS}/check.log",
    # First among the jobs ready at the start: a bad configuration stops the run before the stages.
    priority: 100
    container:
        GOLDMINE_IMAGE
    conda:
        GOLDMINE_ENV
    resources:
        kubernetes_memory_limit="1Gi",
    shell:
        "goldmine check {input} > {output} 2> {log}"
