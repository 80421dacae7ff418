"""`signsearch`: search sign-language videos by meaning, manage the database, serve the web app.

The workflow itself runs with `snakemake` (see README); this command works on its results.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from signsearch.errors import UserError

EPILOG = """examples:
  signsearch search --dataset demo --model pose-baseline --id synthetic-g00-s00-t0
  signsearch search --dataset mine --model pose-baseline --video query.mp4 -k 5 --where split=test
  signsearch search --dataset asl --model signclip-asl-citizen --text HOUSE --json
  signsearch db status            # is the embedded PostgreSQL running? where is its data?
  signsearch serve                # web app on http://127.0.0.1:8501
The database is the embedded server under database.data_dir of the config unless SIGNSEARCH_DB_URL is set."""


def _load_config(path: str | None) -> dict[str, Any]:
    from signsearch import config

    return config.load(path)


def _data_dir(args: argparse.Namespace) -> str:
    if getattr(args, "data_dir", None):
        return args.data_dir
    return _load_config(args.config)["database"]["data_dir"]


def _parse_where(items: list[str]) -> dict[str, str]:
    where = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or key not in ("split", "gloss", "signer"):
            raise SystemExit(f"signsearch: --where takes KEY=VALUE with KEY one of split, gloss, signer (got '{item}')")
        where[key] = value
    return where


def cmd_db(args: argparse.Namespace) -> int:
    from signsearch.db import server

    data_dir = _data_dir(args)
    if args.action == "start":
        server.start(data_dir)
        print(f"embedded PostgreSQL running (data: {data_dir})")
    elif args.action == "stop":
        server.stop(data_dir)
        print(f"embedded PostgreSQL stopped (data: {data_dir})")
    elif args.action == "status":
        for key, value in server.status(data_dir).items():
            print(f"{key}: {value}")
    else:
        print(server.redact(server.resolve_url(data_dir, start=False)))
    return 0


def _print_results(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        json.dump(rows, sys.stdout, indent=2, default=str)
        print()
        return
    if not rows:
        print("no results")
        return
    header = ("rank", "video_id", "gloss", "signer", "distance", "path")
    table = [[str(r["rank"]), str(r["video_id"]), str(r.get("gloss") or "-"), str(r.get("signer") or "-"),
              f"{r['distance']:.4f}", str(r.get("path") or r.get("pose_path") or "-")] for r in rows]
    widths = [max(len(h), *(len(row[i]) for row in table)) for i, h in enumerate(header)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip())
    for row in table:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())


def cmd_search(args: argparse.Namespace) -> int:
    from signsearch.db import server
    from signsearch.search import nearest_videos

    config = _load_config(args.config)
    url = server.resolve_url(config["database"]["data_dir"], start=True)
    with server.connect(url) as conn:
        rows = nearest_videos(
            conn, config, dataset=args.dataset, model=args.model, video=args.video, video_id=args.id,
            text=args.text, k=args.k, metric=args.metric, where=_parse_where(args.where), exact=args.exact,
        )
    _print_results(rows, args.json)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from signsearch.web.app import serve

    serve(config_path=args.config, host=args.host, port=args.port)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from signsearch.datasets import ingest
    from signsearch.embed.factory import available_models
    from signsearch.embed.spec import model_specs

    config = _load_config(args.config)
    for name, cfg in config["datasets"].items():
        if not cfg["active"]:
            continue
        table = ingest.read(name, cfg)
        print(f"dataset '{name}' ({cfg['kind']}): {len(table)} videos, {table['gloss'].nunique()} glosses, "
              f"{table['signer'].nunique()} signers")
    ready = available_models(model_specs(config))
    print(f"models ready: {', '.join(ready) or 'none'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="signsearch", description=__doc__, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="workflow config (default: config/config.yaml or $SIGNSEARCH_CONFIG)")
    sub = parser.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="start, stop or inspect the embedded PostgreSQL + pgvector server")
    db.add_argument("action", choices=["start", "stop", "status", "url"],
                    help="url prints the connection URL (SIGNSEARCH_DB_URL when set, passwords redacted)")
    db.add_argument("--data-dir", help="embedded server's data directory (default: database.data_dir of the config)")
    db.set_defaults(func=cmd_db)

    se = sub.add_parser("search", help="nearest videos to a video file, a stored video id or a text",
                        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    se.add_argument("--dataset", required=True, help="dataset name as in the config")
    se.add_argument("--model", required=True, help="model name as in the config")
    query = se.add_mutually_exclusive_group(required=True)
    query.add_argument("--video", help="a video (posed and embedded on the fly) or a .pose file")
    query.add_argument("--id", help="a video id already in the database (itself is left out of the results)")
    query.add_argument("--text", help="a gloss or phrase (models with a text tower: SignCLIP)")
    se.add_argument("-k", type=int, default=10, help="number of results (default 10)")
    se.add_argument("--metric", choices=["cosine", "l2", "ip"], help="distance (default: the model's metric)")
    se.add_argument("--where", action="append", default=[], metavar="KEY=VALUE",
                    help="filter on split, gloss or signer; repeatable (e.g. --where split=test)")
    se.add_argument("--exact", action="store_true", help="exact scan instead of the HNSW index")
    se.add_argument("--json", action="store_true", help="print JSON instead of a table")
    se.set_defaults(func=cmd_search)

    sv = sub.add_parser("serve", help="the web app: search by video or text, and the evaluation results")
    sv.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1: this machine only)")
    sv.add_argument("--port", type=int, default=8501, help="port (default 8501)")
    sv.set_defaults(func=cmd_serve)

    va = sub.add_parser("validate", help="check the config and every dataset's tables and files without running anything")
    va.set_defaults(func=cmd_validate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except UserError as exc:  # the user's to fix: their message, never a traceback
        print(f"signsearch: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
