rule plot:
    input:
        events=f"{RESULTS}/events.h5",
        limits=f"{RESULTS}/inference/limits.json",
        fisher=f"{RESULTS}/inference/fisher.json",
        validation=f"{RESULTS}/inference/validation.json",
        models=trained_models("json"),
    output:
        distributions=report(f"{RESULTS}/plots/distributions.png", caption="../report/distributions.rst",
                             category="Plots"),
        fisher=report(f"{RESULTS}/plots/fisher_ellipses.png", caption="../report/fisher_ellipses.rst",
                      category="Plots"),
        limits=report(f"{RESULTS}/plots/limits.png", caption="../report/limits_plot.rst", category="Plots"),
        training=report(f"{RESULTS}/plots/training.png", caption="../report/training.rst", category="Plots"),
        calibration=report(f"{RESULTS}/plots/calibration.png", caption="../report/calibration.rst",
                           category="Plots"),
        # Written beside each PNG; declared, so that REANA and --delete-all-output know them.
        pdfs=expand(f"{RESULTS}/plots/{{plot}}.pdf", plot=PLOTS),
    log:
        f"{LOGS}/plot.log",
    benchmark:
        f"{BENCHMARKS}/plot.tsv"
    container:
        GOLDMINE_IMAGE
    conda:
        GOLDMINE_ENV
    resources:
        kubernetes_memory_limit="2Gi",
    shell:
        "goldmine plot --events {input.events} --limits {input.limits} --fisher {input.fisher} "
        "--distributions-plot {output.distributions} --fisher-plot {output.fisher} "
        "--limits-plot {output.limits} --training-plot {output.training} "
        "--validation {input.validation} --calibration-plot {output.calibration} {input.models} 2> {log}"
