# Embedding stage: one job per (model, shard) writes one .npy per unit (a video, or a sign segment or trimmed clip
# of segmented/trimmed datasets) and the shard's index, which holds the same vectors as one block; then one manifest
# per (dataset, model), read from the shard indexes (one file per shard).


rule embed:
    input:
        unpack(get_embed_inputs),
        checkpoint=get_model_checkpoint,
    output:
        LAYOUT.embedding_index("{dataset}", "{model}", "{shard}"),
    log:
        "logs/{dataset}/embeddings/{model}/{shard}.log",
    benchmark:
        "benchmarks/{dataset}/embeddings/{model}/{shard}.tsv"
    params:
        model=lookup(dpath="{model}", within=MODELS),
    threads: 2
    resources:
        gpu=lambda wc: model_resources(wc.model)["gpu"],
        slurm_partition=lambda wc: model_resources(wc.model)["slurm_partition"],
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=lambda wc, attempt: 120 * attempt,
    conda:
        "../envs/embed.yaml"
    script:
        "../scripts/embed.py"


rule manifest:
    input:
        registry=LAYOUT.registry("{dataset}"),
        embeddings=get_embedding_indexes,
    output:
        LAYOUT.manifest("{dataset}", "{model}"),
    log:
        "logs/{dataset}/manifests/{model}.log",
    benchmark:
        "benchmarks/{dataset}/manifests/{model}.tsv"
    params:
        model=lookup(dpath="{model}", within=MODELS),
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../envs/embed.yaml"
    script:
        "../scripts/manifest.py"
