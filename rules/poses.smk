# Pose stage: one job per shard writes results/<dataset>/poses/<shard>/<video>.pose and an index of the shard.
# Video datasets run MediaPipe Holistic; .pose datasets are checked and indexed in place; the synthetic demo
# dataset is generated here. Every shard index has the same columns, so later stages do not care which.


rule estimate_poses:
    input:
        unpack(get_shard_sources),
    output:
        LAYOUT.pose_index("{dataset}", "{shard}"),
    log:
        "logs/{dataset}/poses/{shard}.log",
    benchmark:
        "benchmarks/{dataset}/poses/{shard}.tsv"
    wildcard_constraints:
        dataset=_names_regex(_datasets_of(*VIDEO_KINDS)),
    params:
        pose=config["pose"],
    threads: 2
    resources:
        mem_mb=lambda wc, threads, attempt: 1500 * threads * attempt,
        runtime=lambda wc, attempt: 240 * attempt,
    conda:
        "../envs/pose.yaml"
    script:
        "../scripts/estimate_poses.py"


rule import_poses:
    input:
        unpack(get_shard_sources),
    output:
        LAYOUT.pose_index("{dataset}", "{shard}"),
    log:
        "logs/{dataset}/poses/{shard}.log",
    benchmark:
        "benchmarks/{dataset}/poses/{shard}.tsv"
    wildcard_constraints:
        dataset=_names_regex(_datasets_of("poses")),
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    conda:
        "../envs/pose.yaml"
    script:
        "../scripts/import_poses.py"


rule synthesize_poses:
    input:
        table=get_shard_table,
    output:
        LAYOUT.pose_index("{dataset}", "{shard}"),
    log:
        "logs/{dataset}/poses/{shard}.log",
    benchmark:
        "benchmarks/{dataset}/poses/{shard}.tsv"
    wildcard_constraints:
        dataset=_names_regex(_datasets_of("synthetic")),
    params:
        synthetic=get_synthetic_params,
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    conda:
        "../envs/pose.yaml"
    script:
        "../scripts/synthesize_poses.py"


rule collect_poses:
    input:
        get_pose_indexes,
    output:
        index=LAYOUT.poses("{dataset}"),
        failures=LAYOUT.failures("{dataset}"),
    log:
        "logs/{dataset}/collect_poses.log",
    benchmark:
        "benchmarks/{dataset}/collect_poses.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    conda:
        "../envs/pose.yaml"
    script:
        "../scripts/collect_poses.py"
