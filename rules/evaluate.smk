# Evaluation grid: subsets materialised as id files, one job per (dataset, model, subset), then the grid
# table and figures per dataset (shown in `snakemake --report`).


localrules:
    make_subset,
    grid,


# Cells that search the database run where the database is; in-memory cells are compute and go to the cluster.
if config["evaluate"]["backend"] == "pgvector":

    localrules:
        evaluate,


rule make_subset:
    input:
        registry=LAYOUT.registry("{dataset}"),
        poses=LAYOUT.poses("{dataset}"),
    output:
        LAYOUT.subset("{dataset}", "{subset}"),
    log:
        "logs/eval/{dataset}/subsets/{subset}.log",
    benchmark:
        "benchmarks/eval/{dataset}/subsets/{subset}.tsv"
    params:
        spec=lookup(dpath="evaluate/subsets/{subset}", within=config),
        scale_down=config["evaluate"]["scale_down"],
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/eval.yaml"
    script:
        "../scripts/make_subset.py"


rule evaluate:
    input:
        manifest=LAYOUT.manifest("{dataset}", "{model}"),
        subset=LAYOUT.subset("{dataset}", "{subset}"),
        registry=LAYOUT.registry("{dataset}"),
        loaded=get_backend_receipt,
    output:
        **LAYOUT.cell("{dataset}", "{model}", "{subset}"),
    log:
        "logs/eval/{dataset}/{model}/{subset}.log",
    benchmark:
        "benchmarks/eval/{dataset}/{model}/{subset}.tsv"
    params:
        model=lookup(dpath="{model}", within=MODELS),
        evaluate=config["evaluate"],
        data_dir=config["database"]["data_dir"],
        # Per-query state for incremental reruns; not an output, so Snakemake does not delete it before the job.
        cache=str(LAYOUT.eval_cache("{dataset}", "{model}", "{subset}")),
    threads: 2
    resources:
        mem_mb=8000,
        runtime=60,
    conda:
        "../envs/eval.yaml"
    script:
        "../scripts/evaluate.py"


rule grid:
    input:
        get_grid_cells,
    output:
        table=report(
            LAYOUT.report("{dataset}")["table"],
            caption="../report/grid.rst",
            category="Evaluation grid",
            labels={"dataset": "{dataset}", "figure": "table"},
        ),
        heatmap=report(
            LAYOUT.report("{dataset}")["heatmap"],
            caption="../report/heatmap.rst",
            category="Evaluation grid",
            labels={"dataset": "{dataset}", "figure": "heatmap"},
        ),
        bars=report(
            LAYOUT.report("{dataset}")["bars"],
            caption="../report/bars.rst",
            category="Evaluation grid",
            labels={"dataset": "{dataset}", "figure": "metric bars"},
        ),
        confusions=report(
            LAYOUT.report("{dataset}")["confusions"],
            caption="../report/confusions.rst",
            category="Evaluation grid",
            labels={"dataset": "{dataset}", "figure": "confusions"},
        ),
        skipped=report(
            LAYOUT.report("{dataset}")["skipped"],
            caption="../report/skipped.rst",
            category="Evaluation grid",
            labels={"dataset": "{dataset}", "figure": "skipped cells"},
        ),
    log:
        "logs/report/{dataset}/grid.log",
    benchmark:
        "benchmarks/report/{dataset}/grid.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/eval.yaml"
    script:
        "../scripts/grid.py"
