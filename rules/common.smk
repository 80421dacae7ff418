# Config validation, video registries (stable shards), model specs and the input functions of all stages.
# Every path under results/ comes from LAYOUT (signsearch.layout); called with "{wildcard}" names it gives patterns.
import re

from signsearch import config as ss_config
from signsearch.cluster import model_job_resources
from signsearch.datasets import video_registry
from signsearch.embed.factory import available_models
from signsearch.embed.spec import model_specs
from signsearch.evaluate.continuous import active_protocols
from signsearch.layout import Layout
from signsearch.segment.shard import check_model, method_params, needs_model


ss_config.validate(config, "config")

LAYOUT = Layout()
DATASETS = {name: ds for name, ds in config["datasets"].items() if ds["active"]}


def _load_registry(name):
    # Only the main process ingests; cluster jobs re-parse this file and read what it wrote.
    if workflow.is_main_process:
        return video_registry.sync(name, DATASETS[name], LAYOUT, config["shard_size"])
    return video_registry.read_registry(LAYOUT, name)


REGISTRIES = {name: _load_registry(name) for name in DATASETS}
check_model(DATASETS, config["segmentation"])  # a missing segmentation model is one line, before any job
SPECS = available_models(model_specs(config), announce=workflow.is_main_process)
MODELS = {name: dict(spec.cfg) for name, spec in SPECS.items()}  # the jobs' params: validated model entries


def _names_regex(names):
    # A wildcard constraint matching exactly these names (or nothing, when there are none).
    return "|".join(re.escape(n) for n in names) if names else "(?!)"


def _datasets_of(*kinds):
    return [name for name, ds in DATASETS.items() if ds["kind"] in kinds]


VIDEO_KINDS = ("folder", "asl_citizen")  # datasets of videos: posed with MediaPipe, previewed for the web app


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


def unit_datasets():
    """Datasets whose units are not whole videos: segmented into signs, or trimmed (the segment stage runs)."""
    return [name for name, ds in DATASETS.items() if ds["segmentation"] != "none" or ds["trim"]]


def get_segment_inputs(wildcards):
    """A segment job's inputs: the shard's pose index, and the model file when the method uses it."""
    inputs = {"poses": str(LAYOUT.pose_index(wildcards.dataset, wildcards.shard))}
    if needs_model(DATASETS[wildcards.dataset]["segmentation"]):
        inputs["model"] = config["segmentation"]["model"]
    return inputs


def get_segment_params(wildcards):
    # Only what changes this dataset's segments, so other settings do not rerun its jobs.
    ds = DATASETS[wildcards.dataset]
    method = ds["segmentation"]
    settings = {}
    if method != "none":
        settings["params"] = method_params(method, config["segmentation"]["params"])
        if needs_model(method):
            settings["model"] = config["segmentation"]["model"]
    return {"method": method, "trim": bool(ds["trim"]) and method == "none", "settings": settings}


def get_segment_indexes(wildcards):
    return [str(LAYOUT.segment_index(wildcards.dataset, shard)) for shard in shards(wildcards.dataset)]


def get_embed_inputs(wildcards):
    """An embed job's inputs: the shard's pose index, and its segment table when units are segments or trims."""
    inputs = {"poses": str(LAYOUT.pose_index(wildcards.dataset, wildcards.shard))}
    if wildcards.dataset in unit_datasets():
        inputs["segments"] = str(LAYOUT.segment_index(wildcards.dataset, wildcards.shard))
    return inputs


def model_resources(name):
    """gpu and slurm_partition of a model's embedding and training jobs (config `cluster`, the model's `gpu`)."""
    return model_job_resources(SPECS[name].gpu, config["cluster"])


# Trained models (kind: trained): the train_model rule writes their checkpoint from their training datasets.
def _trained_models():
    # A training dataset that is not active would surface as a missing input: say which key to fix instead.
    names = [name for name, spec in SPECS.items() if spec.kind == "trained"]
    for name in names:
        for ds in SPECS[name].training_datasets:
            if ds not in DATASETS:
                raise ss_config.ConfigError(f"models.{name}.train.data names dataset '{ds}', which is not an active dataset")
    return names


TRAINED = _trained_models()


def get_model_checkpoint(wildcards):
    """A trained model's embedding jobs wait for its checkpoint (and rerun when it is retrained); others: none."""
    if wildcards.model in TRAINED:
        return str(LAYOUT.model_files(wildcards.model)["checkpoint"])
    return []


def get_training_inputs(wildcards):
    """Registries and pose indexes of exactly the model's training datasets: other datasets never retrain it."""
    names = SPECS[wildcards.model].training_datasets
    return {"registries": [str(LAYOUT.registry(n)) for n in names], "poses": [str(LAYOUT.poses(n)) for n in names]}


def get_training_params(wildcards):
    # Only the training settings: the model's embedding keys (batch_size, metric, ...) must not retrain it.
    spec = SPECS[wildcards.model]
    return {"train": spec.cfg["train"], "datasets": spec.training_datasets, "device": spec.device}


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


# evaluate.continuous: protocols whose two datasets are active (signsearch.evaluate.continuous checks the names).
PROTOCOLS = active_protocols(config, list(DATASETS))


def get_continuous_inputs(wildcards):
    """A continuous job's inputs: the segmented dataset's and the query dataset's manifests, and the truth table."""
    protocol = PROTOCOLS[wildcards.protocol]
    return {
        "segments": str(LAYOUT.manifest(protocol["dataset"], wildcards.model)),
        "queries": str(LAYOUT.manifest(protocol["queries"], wildcards.model)),
        "truth": protocol["truth"],
    }


def get_continuous_cells(wildcards):
    return [
        str(LAYOUT.continuous_cell(wildcards.dataset, name, model)["metrics"])
        for name, protocol in PROTOCOLS.items()
        if protocol["dataset"] == wildcards.dataset
        for model in eval_models()
    ]


def get_final_output():
    targets = []
    for ds in DATASETS:
        targets.append(LAYOUT.failures(ds))
        targets += [LAYOUT.manifest(ds, model) for model in MODELS]
        if ds in unit_datasets():
            targets.append(LAYOUT.segments(ds))
        if DATASETS[ds]["kind"] in VIDEO_KINDS:
            targets += [LAYOUT.preview_index(ds, shard) for shard in shards(ds)]
        if config["database"]["load"]:
            targets += [LAYOUT.db_receipt(ds, model) for model in MODELS]
    if eval_subsets() and eval_models():
        targets += [LAYOUT.report(ds)["table"] for ds in eval_datasets()]
    if eval_models():
        targets += [LAYOUT.continuous_table(ds) for ds in sorted({p["dataset"] for p in PROTOCOLS.values()})]
    return [str(t) for t in targets]


onsuccess:
    from signsearch.summary import run_summary

    print(run_summary(LAYOUT, list(DATASETS), list(MODELS), configfiles=workflow.overwrite_configfiles))
