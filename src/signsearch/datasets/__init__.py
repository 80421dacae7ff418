"""Datasets: ingestion of the supported kinds, the per-dataset registry and its stable shards."""
