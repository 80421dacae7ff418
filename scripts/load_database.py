"""Snakemake adapter: load one manifest into PostgreSQL + pgvector (one transaction) and write the receipt."""
import _signsearch_src  # noqa: F401  (first: this checkout's signsearch, also in conda job envs)
import json
import sys

import pyarrow.parquet as pq

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from signsearch.db import load, server
from signsearch.embed.spec import model_spec

dataset = json.loads(open(snakemake.input.dataset).read())
spec = model_spec(snakemake.wildcards.model, snakemake.params.model)
model = {"name": spec.name, "metric": spec.metric}
url = server.resolve_url(snakemake.params.data_dir, start=True)
registry = pq.read_table(snakemake.input.registry, columns=["video_id", "path"]).to_pandas().dropna()
receipt = load.load_manifest(
    url, snakemake.input.manifest, dataset=dataset, model=model, receipt_path=snakemake.output[0],
    paths=dict(zip(registry["video_id"], registry["path"])),
)
print(f"receipt: {receipt}", file=sys.stderr)
