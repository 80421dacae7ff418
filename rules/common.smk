# Config validation, video registries (stable shards), model specs and the input functions of all stages.
# Every path under results/ comes from LAYOUT (signsearch.layout); called with "{wildcard}" names it gives patterns.
import re

from signsearch import config as ss_config
from signsearch.datasets import video_registry
from signsearch.embed.factory import available_models
from signsearch.embed.spec import model_specs
from signsearch.layout import Layout


ss_config.validate(config, "config")

LAYOUT = Layout()
DATASETS = {name: ds for name, ds in config["datasets"].items() if ds["active"]}


def _load_registry(name):
    # Only the main process ingests; cluster jobs re-parse this file and read what it wrote.
    if workflow.is_main_process:
        return video_registry.sync(name, DATASETS[name], LAYOUT, config["shard_size"])
    return video_registry.read_registry(LAYOUT, name)


REGISTRIES = {name: _load_registry(name) for name in DATASETS}
SPECS = available_models(model_specs(config), announce=workflow.is_main_process)
MODELS = {name: dict(spec.cfg) for name, spec in SPECS.items()}  # the jobs' params: validated model entries


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
    return str(LAYOUT.shard_table(wildcards.dataset, wildcards.shard))


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
    return [str(LAYOUT.pose_index(wildcards.dataset, shard)) for shard in shards(wildcards.dataset)]


def get_embedding_indexes(wildcards):
    return [
        str(LAYOUT.embedding_index(wildcards.dataset, wildcards.model, shard)) for shard in shards(wildcards.dataset)
    ]


def model_resources(name):
    return {"gpu": 1 if SPECS[name].gpu else 0}


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
        return str(LAYOUT.db_receipt(wildcards.dataset, wildcards.model))
    return []


def get_grid_cells(wildcards):
    return [
        str(LAYOUT.cell(wildcards.dataset, model, subset)["metrics"])
        for model in eval_models()
        for subset in eval_subsets()
    ]


def get_final_output():
    targets = []
    for ds in DATASETS:
        targets.append(LAYOUT.failures(ds))
        targets += [LAYOUT.manifest(ds, model) for model in MODELS]
        if config["database"]["load"]:
            targets += [LAYOUT.db_receipt(ds, model) for model in MODELS]
    if eval_subsets() and eval_models():
        targets += [LAYOUT.report(ds)["table"] for ds in eval_datasets()]
    return [str(t) for t in targets]


onsuccess:
    from signsearch.summary import run_summary

    print(run_summary(LAYOUT, list(DATASETS), list(MODELS)))
