"""SignCLIP embedding throughput with a full-size, randomly initialised model (nothing is downloaded or read).

The model is built in memory with the released SignCLIP shape: two bert-base-cased towers (768-d, 12 video +
12 text layers, 12 heads, FFN 3072, vocab 28996) and the 609 -> 768 video MLP; random weights run exactly as fast
as trained ones. Poses go through `SignCLIPEmbedder.embed_features`, i.e. the workflow's code path (length
sorting, padding, attention masks), as (T, 609) features with T drawn uniformly from --frames (default 64-128:
isolated signs at 25-30 fps). `.pose` -> features preprocessing is timed separately on synthetic holistic
poses, and one text query's latency is shown too (the web search embeds one query at a time).

    .venv/bin/python bench/bench_signclip.py                       # CPU, batch sizes 1 and 32
    .venv/bin/python bench/bench_signclip.py --device cuda --batch-sizes 1 32 128 --poses 512
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from transformers import BertConfig

from signsearch.datasets import synthetic
from signsearch.embed.signclip.embedder import SignCLIPEmbedder
from signsearch.embed.signclip.features import pose_features
from signsearch.embed.signclip.model import FEATURE_DIM, SignCLIPModel
from signsearch.embed.signclip.text import load_tokenizer
from signsearch.embed.spec import model_spec

BERT_BASE_CASED = dict(vocab_size=28996, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                       intermediate_size=3072, max_position_embeddings=512, type_vocab_size=2)  # fmt: skip


def build_embedder(args: argparse.Namespace, folder: Path) -> SignCLIPEmbedder:
    # A WordPiece vocab with bert-base-cased's special ids and single characters: enough to time text queries.
    special = ["[PAD]"] + [f"[unused{i}]" for i in range(1, 100)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = [chr(c) for c in range(33, 127)]
    (folder / "vocab.txt").write_text("\n".join(special + chars + ["##" + c for c in chars]) + "\n")
    torch.manual_seed(0)
    config = BertConfig(**{**BERT_BASE_CASED, "num_hidden_layers": args.text_layers})
    model = SignCLIPModel(config, args.video_layers)
    spec = model_spec("signclip-random", {"kind": "signclip", "long_inputs": "truncate", "device": args.device})
    return SignCLIPEmbedder.from_model(spec, model, load_tokenizer(folder))


def time_poses(embedder: SignCLIPEmbedder, features: list[np.ndarray], batch_size: int, repeats: int) -> float:
    """Best wall time of `repeats` runs: on a shared machine the best run is the least disturbed one."""
    embedder.batch_size = batch_size
    embedder.embed_features(features[:batch_size])  # warm-up for this batch shape
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        embedder.embed_features(features)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", help="torch device: cpu, cuda, cuda:1 (default cpu)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 32], help="default: 1 32")
    parser.add_argument("--poses", type=int, default=32, help="poses per timed run (default 32)")
    parser.add_argument("--repeats", type=int, default=2, help="timed runs per batch size, best counts (default 2)")
    parser.add_argument("--frames", type=int, nargs=2, default=[64, 128], metavar=("MIN", "MAX"),
                        help="frames per pose, drawn uniformly (default 64 128; the model takes <= 256)")  # fmt: skip
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--video-layers", type=int, default=12, help="default 12, as released")
    parser.add_argument("--text-layers", type=int, default=12, help="default 12, as released")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        embedder = build_embedder(args, Path(folder))
        built = time.perf_counter() - start
        params = sum(p.numel() for p in embedder.model.parameters())
        print(f"model: {params / 1e6:.1f} M parameters, {args.video_layers}+{args.text_layers} layers, "
              f"built in {built:.1f} s; device {embedder.device}, {torch.get_num_threads()} CPU threads, "
              f"torch {torch.__version__}")  # fmt: skip

        rng = np.random.default_rng(0)
        lengths = rng.integers(args.frames[0], args.frames[1] + 1, args.poses)
        features = [rng.standard_normal((n, FEATURE_DIM)).astype(np.float32) for n in lengths]
        print(f"\n{args.poses} poses, {lengths.min()}-{lengths.max()} frames (mean {lengths.mean():.0f}), "
              f"best of {args.repeats} runs\n")  # fmt: skip
        embedder.embed_features(features[:4])  # first calls pay one-time costs (thread pool, allocator, kernels)
        print(f"{'batch size':>10}  {'seconds':>8}  {'poses/s':>8}  {'frames/s':>9}  {'ms/pose':>8}")
        for batch_size in args.batch_sizes:
            seconds = time_poses(embedder, features, batch_size, args.repeats)
            print(f"{batch_size:>10}  {seconds:>8.2f}  {args.poses / seconds:>8.2f}  "
                  f"{lengths.sum() / seconds:>9.0f}  {1000 * seconds / args.poses:>8.1f}")  # fmt: skip

        embedder.embed_texts(["warm-up"])
        start = time.perf_counter()
        for gloss in ("house", "HOUSE", "thank you", "mother", "book"):
            embedder.embed_texts([gloss])
        print(f"\ntext query (batch 1, prompt '{embedder.prompt}'): "
              f"{1000 * (time.perf_counter() - start) / 5:.1f} ms")  # fmt: skip

    poses = [synthetic.build_pose(0, g, s, 0) for g in range(4) for s in range(4)]
    start = time.perf_counter()
    frames = sum(len(pose_features(pose)) for pose in poses)
    seconds = time.perf_counter() - start
    print(f"pose preprocessing (.pose -> (T, 609)): {len(poses) / seconds:.0f} poses/s, "
          f"{frames / seconds:.0f} frames/s")  # fmt: skip

    if embedder.device.type == "cpu":
        same = (f"--batch-sizes {' '.join(map(str, args.batch_sizes))} --poses {args.poses} --repeats {args.repeats} "
                f"--frames {args.frames[0]} {args.frames[1]} --video-layers {args.video_layers} "
                f"--text-layers {args.text_layers}")  # fmt: skip
        print(f"\nthe same on a GPU (TF32 matmuls stay off, torch's default):\n"
              f"  .venv/bin/python {Path(sys.argv[0]).as_posix()} --device cuda {same}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
