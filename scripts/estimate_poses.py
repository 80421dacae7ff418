"""Snakemake adapter: estimate the poses of one shard (MediaPipe loads once per job)."""
import _signsearch_src  # noqa: F401  (first: this checkout's signsearch, also in conda job envs)
import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from signsearch.pose.shard import process_shard

opts = snakemake.params.pose
summary = process_shard(
    snakemake.input.table,
    snakemake.output[0],
    workers=snakemake.threads,
    model_complexity=opts["model_complexity"],
    refine_face_landmarks=opts["refine_face_landmarks"],
    frame_tolerance=opts["frame_tolerance"],
)
print(f"shard summary: {summary}", file=sys.stderr)
