# Segmentation stage (datasets with `segmentation` other than none, or `trim: true`): one job per shard reads the
# shard's poses and writes its segment table (the units the embed jobs embed); one table per dataset gathers them.


rule segment:
    input:
        unpack(get_segment_inputs),
    output:
        LAYOUT.segment_index("{dataset}", "{shard}"),
    log:
        "logs/{dataset}/segments/{shard}.log",
    benchmark:
        "benchmarks/{dataset}/segments/{shard}.tsv"
    wildcard_constraints:
        dataset=_names_regex(unit_datasets()),
    params:
        segment=get_segment_params,
    threads: config["segmentation"]["threads"]
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=lambda wc, attempt: 60 * attempt,
    conda:
        "../envs/embed.yaml"
    script:
        "../scripts/segment.py"


rule collect_segments:
    input:
        get_segment_indexes,
    output:
        LAYOUT.segments("{dataset}"),
    log:
        "logs/{dataset}/collect_segments.log",
    wildcard_constraints:
        dataset=_names_regex(unit_datasets()),
    threads: 1
    resources:
        mem_mb=1000,
        runtime=15,
    conda:
        "../envs/embed.yaml"
    script:
        "../scripts/collect_segments.py"
