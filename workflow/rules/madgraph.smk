# MadGraph as the generator (process `madgraph`, docs/madgraph.md): per chunk, goldmine writes the cards
# and an MG5 script that answers every question itself; MadGraph (+ Pythia 8 + Delphes with their cards)
# runs it in the generator image, with stdin from /dev/null so that no prompt can wait.


rule cards:
    input:
        config=ancient(EFFECTIVE_CONFIG),
        setup=f"{RESULTS}/setup.h5",
    output:
        script=f"{RESULTS}/madgraph/{{scatteritem}}/run.mg5",
        cards=multiext(f"{RESULTS}/madgraph/{{scatteritem}}/", "param_card.dat", "reweight_card.dat", "run_card.dat"),
    params:
        config=config_sections("process", "generation"),
        chunk=chunk_index,
        folder=lambda wildcards: f"{RESULTS}/madgraph/{wildcards.scatteritem}",
    log:
        f"{LOGS}/cards/{{scatteritem}}.log",
    container:
        GOLDMINE_IMAGE
    conda:
        GOLDMINE_ENV
    resources:
        kubernetes_memory_limit="1Gi",
    shell:
        "goldmine cards --config {input.config} --setup {input.setup} --chunk {params.chunk} -o {params.folder} 2> {log}"


rule generate:
    input:
        script=f"{RESULTS}/madgraph/{{scatteritem}}/run.mg5",
        cards=multiext(f"{RESULTS}/madgraph/{{scatteritem}}/", "param_card.dat", "reweight_card.dat", "run_card.dat"),
    output:
        lhe=f"{RESULTS}/lhe/{{scatteritem}}.lhe.gz",
        delphes=[f"{RESULTS}/delphes/{{scatteritem}}.root"] if MADGRAPH_DELPHES else [],
    params:
        events=lambda wildcards: f"{RESULTS}/madgraph/{wildcards.scatteritem}/process/Events/run_01",
    log:
        f"{LOGS}/generate/{{scatteritem}}.log",
    benchmark:
        f"{BENCHMARKS}/generate/{{scatteritem}}.tsv"
    # MG5_aMC, Pythia 8, Delphes and LHAPDF: an image only (containers/generator), no conda environment.
    container:
        GENERATOR_IMAGE
    resources:
        kubernetes_memory_limit="4Gi",
    shell:
        "mg5_aMC {input.script} < /dev/null > {log} 2>&1 && cp {params.events}/unweighted_events.lhe.gz {output.lhe}"
        + (" && cp {params.events}/tag_1_delphes_events.root {output.delphes}" if MADGRAPH_DELPHES else "")
