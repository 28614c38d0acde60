# Experiment design (config section `design`): Bayesian optimisation of the expected information
# gain over one experiment variable (process.sqrt_s), each evaluation a chain of jobs.
#
# A static DAG, no checkpoint: the number of evaluations is fixed by the configuration (round 0
# has design.initial_points, each of design.rounds rounds after it design.batch_size), so every
# file name is known when the workflow is parsed; only the settings are found at run time, and
# they travel in files (the point's configuration). Round r's proposal needs the evaluations of
# every earlier round, so Snakemake runs the rounds in order and the points of a round in
# parallel (q jobs at a time with --cores q). Each point runs the analysis's own commands with
# its configuration: generate -> detect -> `goldmine design evaluate` (truth Fisher information
# and EIG), in plain shell rules like every other stage (the same on a laptop, a cluster or
# REANA). The shower is not run: the truth information is parton level, weighed by the detector's
# acceptance and efficiencies. The target `design` (in the Snakefile) runs the design alone.


rule design_propose_initial:
    input:
        config=ancient(EFFECTIVE_CONFIG),
    output:
        proposal=f"{DESIGN}/round0/proposal.json",
        points=design_points(0),
    params:
        config=config_sections(*DESIGN_SECTIONS),
        point_configs=lambda wildcards, output: " ".join(f"--point-config {path}" for path in output.points),
    log:
        f"{LOGS}/design/propose0.log",
    container:
        GOLDMINE_IMAGE
    conda:
        GOLDMINE_ENV
    resources:
        kubernetes_memory_limit="1Gi",
    shell:
        "goldmine design propose --config {input.config} --round 0 --proposal {output.proposal} "
        "{params.point_configs} 2> {log}"


rule design_propose:
    input:
        config=ancient(EFFECTIVE_CONFIG),
        evaluations=lambda wildcards: design_evaluations(range(int(wildcards.round))),
    output:
        proposal=f"{DESIGN}/round{{round}}/proposal.json",
        # Every round after the first has design.batch_size points.
        points=[f"{DESIGN}/round{{round}}/{index}.yaml" for index in range(_design["batch_size"])],
    params:
        config=config_sections(*DESIGN_SECTIONS),
        point_configs=lambda wildcards, output: " ".join(f"--point-config {path}" for path in output.points),
    log:
        f"{LOGS}/design/propose{{round}}.log",
    wildcard_constraints:
        round=r"[1-9]\d*",
    container:
        GOLDMINE_IMAGE
    conda:
        GOLDMINE_ENV
    resources:
        kubernetes_memory_limit="1Gi",
    shell:
        "goldmine design propose --config {input.config} --round {wildcards.round} "
        "--proposal {output.proposal} {params.point_configs} {input.evaluations} 2> {log}"


rule design_generate:
    input:
        config=f"{DESIGN}/round{{round}}/{{point}}.yaml",
        setup=f"{RESULTS}/setup.h5",
    output:
        temp(f"{DESIGN}/round{{round}}/{{point}}.lhe.gz"),
    params:
        chunk=design_evaluation_index,
    log:
        f"{LOGS}/design/generate{{round}}-{{point}}.log",
    wildcard_constraints:
        round=r"\d+",
        point=r"\d+",
    container:
        GOLDMINE_IMAGE
    conda:
        GOLDMINE_ENV
    resources:
        kubernetes_memory_limit="2Gi",
    shell:
        "goldmine generate --config {input.config} --setup {input.setup} --chunk {params.chunk} -o {output} "
        "2> {log}"


rule design_detect:
    input:
        config=f"{DESIGN}/round{{round}}/{{point}}.yaml",
        setup=f"{RESULTS}/setup.h5",
        events=f"{DESIGN}/round{{round}}/{{point}}.lhe.gz",
        card=detector_card,
    output:
        temp(f"{DESIGN}/round{{round}}/{{point}}.h5"),
    params:
        chunk=design_evaluation_index,
    log:
        f"{LOGS}/design/detect{{round}}-{{point}}.log",
    wildcard_constraints:
        round=r"\d+",
        point=r"\d+",
    container:
        GOLDMINE_IMAGE
    conda:
        GOLDMINE_ENV
    resources:
        kubernetes_memory_limit="2Gi",
    shell:
        "goldmine detect --config {input.config} --setup {input.setup} --input {input.events} "
        "--chunk {params.chunk} -o {output} 2> {log}"


rule design_evaluate:
    input:
        config=f"{DESIGN}/round{{round}}/{{point}}.yaml",
        events=f"{DESIGN}/round{{round}}/{{point}}.h5",
    output:
        f"{DESIGN}/round{{round}}/{{point}}.json",
    log:
        f"{LOGS}/design/evaluate{{round}}-{{point}}.log",
    wildcard_constraints:
        round=r"\d+",
        point=r"\d+",
    container:
        GOLDMINE_IMAGE
    conda:
        GOLDMINE_ENV
    resources:
        kubernetes_memory_limit="1Gi",
    shell:
        "goldmine design evaluate --config {input.config} --events {input.events} --round {wildcards.round} "
        "--index {wildcards.point} -o {output} 2> {log}"


rule design_summarise:
    input:
        config=ancient(EFFECTIVE_CONFIG),
        evaluations=design_evaluations(range(len(DESIGN_ROUNDS))),
    output:
        design=f"{RESULTS}/design.json",
        plot=report(f"{RESULTS}/plots/design.png", caption="../report/design.rst", category="Design"),
        pdf=f"{RESULTS}/plots/design.pdf",
    params:
        config=config_sections("design"),
    log:
        f"{LOGS}/design/summarise.log",
    container:
        GOLDMINE_IMAGE
    conda:
        GOLDMINE_ENV
    resources:
        kubernetes_memory_limit="1Gi",
    shell:
        "goldmine design summarise --config {input.config} -o {output.design} --plot {output.plot} "
        "{input.evaluations} 2> {log}"
