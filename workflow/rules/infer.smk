rule infer:
    input:
        config=ancient(EFFECTIVE_CONFIG),
        test=f"{RESULTS}/samples/test.h5",
        models=trained_models("pt"),
        nuisances=nuisance_model(),
        calibration=calibration_sample(),
        # inference.data: the command reads it from the config; an input here, so a new data file reruns infer
        data=config["inference"].get("data", []),
    output:
        fisher=report(f"{RESULTS}/inference/fisher.json", caption="../report/fisher.rst", category="Results"),
        limits=report(f"{RESULTS}/inference/limits.json", caption="../report/limits.rst", category="Results"),
        validation=report(
            f"{RESULTS}/inference/validation.json", caption="../report/validation.rst", category="Results"
        ),
        workspace=report(
            f"{RESULTS}/inference/histogram_workspace.json", caption="../report/workspace.rst", category="Results"
        ),
    params:
        # process, detector: the exact likelihood; mining: the reference point; training: the methods expected.
        config=config_sections("process", "detector", "mining", "training", "inference"),
        nuisances=lambda wildcards, input: f"--nuisances {input.nuisances}" if input.nuisances else "",
        calibration=lambda wildcards, input: f"--calibration {input.calibration}" if input.calibration else "",
    threads: config["training"]["threads"]
    log:
        f"{LOGS}/infer.log",
    benchmark:
        f"{BENCHMARKS}/infer.tsv"
    container:
        GOLDMINE_IMAGE
    conda:
        GOLDMINE_ENV
    resources:
        kubernetes_memory_limit="4Gi",
    shell:
        "goldmine infer --config {input.config} --test {input.test} --fisher {output.fisher} "
        "--limits {output.limits} --validation {output.validation} --workspace {output.workspace} "
        "{params.nuisances} {params.calibration} {input.models} 2> {log}"
