rule mine:
    input:
        config=EFFECTIVE_CONFIG,
        events="results/events.h5",
    output:
        local_score="results/samples/local_score.h5",
        ratio="results/samples/ratio.h5",
        test="results/samples/test.h5",
    log:
        "logs/mine.log",
    benchmark:
        "results/benchmarks/mine.tsv",
    shell:
        "goldmine mine --config {input.config} --events {input.events} -o results/samples 2> {log}"
