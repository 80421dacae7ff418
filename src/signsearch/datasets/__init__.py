"""Datasets: ingestion of the supported kinds, the per-dataset video registry and its stable shards."""
