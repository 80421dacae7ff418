"""Snakemake adapter: load one manifest into PostgreSQL + pgvector (one transaction) and write the receipt."""
import json
import sys

import pyarrow.parquet as pq

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from signsearch.db import load, server

dataset = json.loads(open(snakemake.input.dataset).read())
model = {"name": snakemake.wildcards.model, "metric": snakemake.params.model["metric"]}
url = server.resolve_url(snakemake.params.data_dir, start=True)
registry = pq.read_table(snakemake.input.registry, columns=["video_id", "path"]).to_pandas().dropna()
receipt = load.load_manifest(
    url, snakemake.input.manifest, dataset=dataset, model=model, receipt_path=snakemake.output[0],
    paths=dict(zip(registry["video_id"], registry["path"])),
)
print(f"receipt: {receipt}", file=sys.stderr)
