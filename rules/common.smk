# Config validation, dataset registries (stable shards) and the input functions of all stages.
import re
from pathlib import Path

from signsearch import config as ss_config
from signsearch.datasets import registry as ss_registry
from signsearch.embed import registry as ss_models


ss_config.validate(config, "config")

RESULTS = Path("results")
DATASETS = {name: ds for name, ds in config["datasets"].items() if ds["active"]}


def _load_registry(name):
    # Only the main process ingests; cluster jobs re-parse this file and read what it wrote.
    if workflow.is_main_process:
        return ss_registry.sync(name, DATASETS[name], RESULTS, config["shard_size"])
    return ss_registry.read_registry(RESULTS, name)


REGISTRIES = {name: _load_registry(name) for name in DATASETS}
MODELS = ss_models.available_models(config["models"], announce=workflow.is_main_process)


def _names_regex(names):
    # A wildcard constraint matching exactly these names (or nothing, when there are none).
    return "|".join(re.escape(n) for n in names) if names else "(?!)"


def _datasets_of(*kinds):
    return [name for name, ds in DATASETS.items() if ds["kind"] in kinds]


wildcard_constraints:
    dataset=_names_regex(DATASETS),
    model=_names_regex(MODELS),
    shard=r"s\d{5}",
    subset=r"[A-Za-z0-9_.-]+",


def shards(dataset):
    return sorted(REGISTRIES[dataset]["shard"].unique())


def shard_members(dataset, shard):
    reg = REGISTRIES[dataset]
    return reg[reg["shard"] == shard]


def get_shard_table(wildcards):
    return str(ss_registry.shard_table_path(RESULTS, wildcards.dataset, wildcards.shard))


def get_shard_sources(wildcards):
    """A pose job's inputs: its shard table and the source files (so a replaced video reruns its shard)."""
    table = get_shard_table(wildcards)
    members = shard_members(wildcards.dataset, wildcards.shard)
    return {"table": table, "sources": [p for p in members["path"] if p]}


def get_synthetic_params(wildcards):
    # Only the generator's own keys: other dataset settings must not rerun the generation.
    ds = DATASETS[wildcards.dataset]
    return {key: ds[key] for key in ("glosses", "signers", "takes", "seed")}


def get_pose_indexes(wildcards):
    return expand("results/{dataset}/poses/{shard}.parquet", dataset=wildcards.dataset, shard=shards(wildcards.dataset))


def get_embedding_indexes(wildcards):
    return expand(
        "results/{dataset}/embeddings/{model}/{shard}.parquet",
        dataset=wildcards.dataset,
        model=wildcards.model,
        shard=shards(wildcards.dataset),
    )


def model_resources(name):
    return {"gpu": 1 if MODELS[name]["gpu"] else 0}


def eval_models():
    wanted = config["evaluate"].get("models") or list(MODELS)
    return [m for m in wanted if m in MODELS]


def eval_datasets():
    return config["evaluate"].get("datasets") or list(DATASETS)


def eval_subsets():
    return list(config["evaluate"].get("subsets", {}))


def get_backend_receipt(wildcards):
    """The pgvector backend searches the database, so the cell waits for the model's load."""
    if config["evaluate"]["backend"] == "pgvector":
        return f"results/{wildcards.dataset}/db/{wildcards.model}.json"
    return []


def get_grid_cells(wildcards):
    return expand(
        "results/eval/{dataset}/{model}/{subset}/metrics.json",
        dataset=wildcards.dataset,
        model=eval_models(),
        subset=eval_subsets(),
    )


def get_final_output():
    targets = []
    for ds in DATASETS:
        targets.append(f"results/{ds}/failures.tsv")
        targets += expand("results/{dataset}/manifests/{model}.parquet", dataset=ds, model=MODELS)
        if config["database"]["load"]:
            targets += expand("results/{dataset}/db/{model}.json", dataset=ds, model=MODELS)
    if eval_subsets() and eval_models():
        targets += expand("results/report/{dataset}/grid.tsv", dataset=eval_datasets())
    return targets


onsuccess:
    from signsearch.summary import run_summary

    print(run_summary(RESULTS, list(DATASETS), list(MODELS)))
