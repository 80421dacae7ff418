# Training stage: one job per `kind: trained` model writes results/models/<model>/ (checkpoint, per-epoch table,
# training curve, model card) from the registries and pose indexes of exactly its training datasets. Its params
# are the model's `train` block, so changing a training setting retrains (Snakemake's default rerun triggers
# include params); the model's embedding jobs take the checkpoint as input (rules/common.smk).


rule train_model:
    input:
        unpack(get_training_inputs),
    output:
        **LAYOUT.model_files("{model}"),
    log:
        "logs/models/{model}/train.log",
    benchmark:
        "benchmarks/models/{model}/train.tsv"
    wildcard_constraints:
        model=_names_regex(TRAINED),
    params:
        settings=get_training_params,
    # One torch thread: the model is small and its numpy front end single-threaded; on a busy 2-core machine a
    # second thread stalled training (20 batches: 25 s with 1 thread, over 10 min with 2). On a big CPU node
    # raise it with --set-threads train_model=N; on a GPU it does not matter.
    threads: 1
    resources:
        gpu=lambda wc: model_resources(wc.model)["gpu"],
        slurm_partition=lambda wc: model_resources(wc.model)["slurm_partition"],
        mem_mb=lambda wc, attempt: 8000 * attempt,
        runtime=lambda wc, attempt: 720 * attempt,
    conda:
        "../envs/train.yaml"
    script:
        "../scripts/train_model.py"
