# Continuous search (evaluate.continuous): isolated clips query the segments of long videos with known sign
# boundaries; one job per (protocol, model), then one table per segmented dataset (shown in `snakemake --report`).


localrules:
    continuous_table,


rule continuous:
    input:
        unpack(get_continuous_inputs),
    output:
        **LAYOUT.continuous_cell("{dataset}", "{protocol}", "{model}"),
    log:
        "logs/continuous/{dataset}/{protocol}/{model}.log",
    benchmark:
        "benchmarks/continuous/{dataset}/{protocol}/{model}.tsv"
    wildcard_constraints:
        dataset=_names_regex({p["dataset"] for p in PROTOCOLS.values()}),
        protocol=_names_regex(PROTOCOLS),
    params:
        settings=lookup(dpath="{protocol}", within=PROTOCOLS),
        metric=config["evaluate"]["metric"],
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../envs/eval.yaml"
    script:
        "../scripts/continuous.py"


rule continuous_table:
    input:
        get_continuous_cells,
    output:
        report(
            LAYOUT.continuous_table("{dataset}"),
            caption="../report/continuous.rst",
            category="Continuous search",
            labels={"dataset": "{dataset}", "table": "timed hits and segment scores"},
        ),
    log:
        "logs/report/{dataset}/continuous.log",
    wildcard_constraints:
        dataset=_names_regex({p["dataset"] for p in PROTOCOLS.values()}),
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/eval.yaml"
    script:
        "../scripts/continuous_table.py"
