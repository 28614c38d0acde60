rule infer:
    input:
        config=EFFECTIVE_CONFIG,
        test="results/samples/test.h5",
        models=trained_models(),
    output:
        fisher=report("results/inference/fisher.json", caption="../report/fisher.rst", category="Results"),
        limits=report("results/inference/limits.json", caption="../report/limits.rst", category="Results"),
        validation=report(
            "results/inference/validation.json", caption="../report/validation.rst", category="Results"
        ),
        workspace=report(
            "results/inference/histogram_workspace.json", caption="../report/workspace.rst", category="Results"
        ),
    log:
        "logs/infer.log",
    benchmark:
        "results/benchmarks/infer.tsv",
    shell:
        "goldmine infer --config {input.config} --test {input.test} --models results/models "
        "-o results/inference 2> {log}"
