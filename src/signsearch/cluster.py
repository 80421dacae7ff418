"""Cluster resources of a model's jobs (embedding, training): whether they ask for a GPU and which Slurm partition
they go to, from the model's `gpu` flag and the config's `cluster` partitions. A Slurm profile sees only rule
names, not models, so the partition is a rule resource computed per job: CPU-only models never queue on the GPU
partition."""

from __future__ import annotations

from collections.abc import Mapping


def model_job_resources(gpu: bool, cluster: Mapping[str, str]) -> dict[str, int | str]:
    """`gpu` (1/0, Slurm --gpus) and `slurm_partition` ("" = the cluster's default partition)."""
    return {"gpu": 1 if gpu else 0, "slurm_partition": cluster["gpu_partition" if gpu else "cpu_partition"]}
