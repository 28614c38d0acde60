rule plot:
    input:
        events="results/events.h5",
        inference="results/inference/limits.json",
        fisher="results/inference/fisher.json",
        models=trained_models(),
    output:
        distributions=report("results/plots/distributions.png", caption="../report/distributions.rst",
                             category="Plots"),
        fisher=report("results/plots/fisher_ellipses.png", caption="../report/fisher_ellipses.rst", category="Plots"),
        limits=report("results/plots/limits.png", caption="../report/limits_plot.rst", category="Plots"),
        training=report("results/plots/training.png", caption="../report/training.rst", category="Plots"),
    log:
        "logs/plot.log",
    benchmark:
        "results/benchmarks/plot.tsv",
    shell:
        "goldmine plot --events {input.events} --inference results/inference --models results/models "
        "-o results/plots 2> {log}"
