rule mine:
    input:
        config=ancient(EFFECTIVE_CONFIG),
        events=f"{RESULTS}/events.h5",
    output:
        local_score=f"{RESULTS}/samples/local_score.h5",
        ratio=f"{RESULTS}/samples/ratio.h5",
        test=f"{RESULTS}/samples/test.h5",
    params:
        config=config_sections("mining"),
    log:
        f"{LOGS}/mine.log",
    benchmark:
        f"{BENCHMARKS}/mine.tsv"
    container:
        GOLDMINE_IMAGE
    conda:
        GOLDMINE_ENV
    resources:
        kubernetes_memory_limit="4Gi",
    shell:
        "goldmine mine --config {input.config} --events {input.events} --local-score {output.local_score} "
        "--ratio {output.ratio} --test {output.test} 2> {log}"
