"""`signsearch`: search sign-language videos by meaning, manage the database, serve the web app.

The workflow itself runs with `snakemake` (see README); this command works on its results.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, NoReturn

from signsearch.errors import UserError, escape_controls, user_message

EPILOG = """examples:
  signsearch search --dataset demo --model pose-baseline --id synthetic-g00-s00-t0
  signsearch search --dataset mine --model pose-baseline --video query.mp4 -k 5 --where split=test
  signsearch search --dataset asl --model signclip-asl-citizen --text HOUSE --json
  signsearch segments take0000 --dataset lectures --elan take0000.eaf   # a long video's signs, for ELAN
  signsearch concat --metadata clips/metadata.csv --group-by take --out long/   # long videos + truth.csv
  signsearch db status            # is the embedded PostgreSQL running? where is its data?
  signsearch embed --model pose-baseline poses/ clip.mp4 --out vectors/   # .npy per input, no database
  signsearch serve                # web app on http://127.0.0.1:8501
The database is the embedded server under database.data_dir of the config unless SIGNSEARCH_DB_URL is set."""


def _config_source(args: argparse.Namespace) -> list[str] | None:
    """--config/--configfile entries given before and after the subcommand, in order (None: none given)."""
    entries = [*(args.config or []), *(getattr(args, "sub_config", None) or [])]
    return entries or None


def _load_config(args: argparse.Namespace) -> dict[str, Any]:
    from signsearch import config

    return config.load(_config_source(args))


def _data_dir(args: argparse.Namespace) -> str:
    if getattr(args, "data_dir", None):
        return args.data_dir
    return _load_config(args)["database"]["data_dir"]


def _parse_where(items: list[str]) -> dict[str, str]:
    where = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or key not in ("split", "gloss", "signer"):
            raise UserError(f"--where takes KEY=VALUE with KEY one of split, gloss, signer (got '{item}')")
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


def clock(seconds: float) -> str:
    """Seconds as mm:ss.s (h:mm:ss.s from an hour on), the time format of search results."""
    tenths = round(seconds * 10)
    minutes, rest = divmod(tenths, 600)
    hours, minutes = divmod(minutes, 60)
    text = f"{minutes:02d}:{rest // 10:02d}.{rest % 10}"
    return f"{hours}:{text}" if hours else text


def time_range(row: dict[str, Any]) -> str:
    """A unit's time range in its source video (``00:12.4-00:13.1``), or '-' for a whole video."""
    if row.get("start_s") is None or row.get("end_s") is None:
        return "-"
    return f"{clock(row['start_s'])}-{clock(row['end_s'])}"


def _print_table(header: tuple[str, ...], table: list[list[str]]) -> None:
    widths = [max(len(h), *(len(row[i]) for row in table)) for i, h in enumerate(header)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip())
    for row in table:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())


def _print_results(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        json.dump(rows, sys.stdout, indent=2, default=str)
        print()
        return
    if not rows:
        print("no results")
        return
    # Whole-video results keep their columns; segments and trimmed clips add where in the source video they are.
    timed = any(r.get("start_s") is not None for r in rows)
    header = ("rank", "video_id", *(("time",) if timed else ()), "gloss", "signer", "distance", "path")
    table = [[str(r["rank"]), str(r["video_id"]), *((time_range(r),) if timed else ()), str(r.get("gloss") or "-"),
              str(r.get("signer") or "-"), f"{r['distance']:.4f}", str(r.get("path") or r.get("pose_path") or "-")]
             for r in rows]
    _print_table(header, table)


def cmd_search(args: argparse.Namespace) -> int:
    from signsearch.db import server
    from signsearch.search import answer, prepare

    config = _load_config(args)
    # Check and embed first: a query that fails on its own never starts (or leaves behind) a database server.
    query = prepare(config, dataset=args.dataset, model=args.model, video=args.video, video_id=args.id,
                    text=args.text, k=args.k, metric=args.metric, where=_parse_where(args.where), exact=args.exact)
    with server.session(config["database"]["data_dir"]) as url, server.connect(url) as conn:
        rows = answer(conn, query)
    _print_results(rows, args.json)
    return 0


def cmd_segments(args: argparse.Namespace) -> int:
    from signsearch.layout import Layout
    from signsearch.segment.shard import video_units

    units, reason = video_units(Layout(), args.dataset, args.video_id)
    segments = [segment for _, segment in units]
    if args.elan:
        from signsearch.datasets.video_registry import read_registry
        from signsearch.segment.elan import write_eaf

        registry = read_registry(Layout(), args.dataset)
        media = registry.set_index("video_id")["path"].get(args.video_id) if registry is not None else None
        write_eaf(segments, args.elan, media=media or None)
        print(f"{args.elan}: {len(segments)} segment(s) of {args.video_id}")
        return 0
    if not segments:
        print(f"no segments: {reason}")
        return 0
    table = [[str(s.index), unit, f"{s.start_frame}-{s.end_frame}", f"{clock(s.start_s)}-{clock(s.end_s)}",
              f"{s.confidence:.2f}"] for unit, s in units]
    _print_table(("segment", "unit_id", "frames", "time", "confidence"), table)
    return 0


def cmd_concat(args: argparse.Namespace) -> int:
    from signsearch.segment.long_videos import build_long_videos

    truth = build_long_videos(args.metadata, args.out, group_by=args.group_by, root=args.root)
    for video, rows in truth.groupby("video_id", sort=True):
        print(f"{args.out}/{video}.mp4: {len(rows)} clips, {rows['end_s'].max():.1f} s")
    print(f"{args.out}/metadata.csv, {args.out}/truth.csv: {truth['video_id'].nunique()} videos, {len(truth)} signs")
    return 0


def cmd_embed(args: argparse.Namespace) -> int:
    from signsearch.embed.api import FAILURES_FILE, embed_files

    result = embed_files(args.inputs, args.model, _load_config(args))
    for path, reason in result.failures:
        print(f"signsearch: not embedded: {path}: {reason}", file=sys.stderr)
    if not result.ids:
        raise UserError(f"no input could be embedded with '{args.model}' ({len(result.failures)} failed)")
    if args.parquet:
        where = str(result.write_parquet(args.parquet))
    else:
        result.write_npy(args.out)
        where = f"{args.out}/<id>.npy" + (f" (failures: {args.out}/{FAILURES_FILE})" if result.failures else "")
    print(f"embedded {len(result.ids)} of {len(result.table)} inputs with {args.model} "
          f"(dim {result.vectors.shape[1]}): {where}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from signsearch.web.app import serve

    serve(config_path=_config_source(args), host=args.host, port=args.port, allow_hosts=args.allow_host)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from signsearch.datasets import ingest
    from signsearch.embed.factory import available_models
    from signsearch.embed.spec import model_specs
    from signsearch.segment.shard import check_model

    config = _load_config(args)
    for name, cfg in config["datasets"].items():
        if not cfg["active"]:
            continue
        table = ingest.read(name, cfg)
        print(f"dataset '{name}' ({cfg['kind']}): {len(table)} videos, {table['gloss'].nunique()} glosses, "
              f"{table['signer'].nunique()} signers")
    ready = available_models(model_specs(config))
    print(f"models ready: {', '.join(ready) or 'none'}")
    check_model({n: d for n, d in config["datasets"].items() if d["active"]}, config["segmentation"])
    return 0


CONFIG_HELP = ("a config file layered on config/config.yaml as Snakemake's --configfile does (then the demo "
               "is not read), or KEY=VALUE as Snakemake's --config; repeatable, before or after the subcommand "
               "(default: $SIGNSEARCH_CONFIG, else config/config.yaml + config/demo.yaml)")


def _add_config_options(parser: argparse.ArgumentParser, dest: str) -> None:
    parser.add_argument("--config", "--configfile", dest=dest, action="append", metavar="FILE|KEY=VALUE",
                        help=CONFIG_HELP)


class _Parser(argparse.ArgumentParser):
    """argparse, except that an argument the user typed cannot split its one error line."""

    def error(self, message: str) -> NoReturn:
        super().error(escape_controls(message))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="signsearch", description=__doc__, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_config_options(parser, "config")
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

    sg = sub.add_parser("segments", help="a segmented video's signs (frames, times, confidence), or its ELAN file")
    sg.add_argument("video_id", help="the source video's id (as in the dataset's registry)")
    sg.add_argument("--dataset", required=True, help="dataset name as in the config (segmentation not none)")
    sg.add_argument("--elan", metavar="OUT.eaf", help="write the segments as an ELAN annotation file instead")
    sg.set_defaults(func=cmd_segments)

    cc = sub.add_parser("concat", help="long videos with known sign boundaries from isolated clips (continuous-search protocol)")
    cc.add_argument("--metadata", required=True, help="the clips' table (CSV/TSV: path, gloss, signer; video_id or sample_id)")
    cc.add_argument("--out", required=True, help="folder for <group>.mp4, metadata.csv and truth.csv")
    cc.add_argument("--group-by", default="take", help="metadata column whose values make one long video each; "
                    "'take' without such a column: the clip's file stem (videos/crvena/0000.mp4 -> 0000)")
    cc.add_argument("--root", help="folder the table's relative paths start from (default: the table's folder)")
    cc.set_defaults(func=cmd_concat)

    em = sub.add_parser("embed", help="embed .pose files or videos with a configured model into .npy files or a Parquet "
                        "table (no database, no workflow)")
    em.add_argument("inputs", nargs="+", metavar="PATH", help=".pose files, videos, or folders searched recursively")
    em.add_argument("--model", required=True, help="model name as in the config")
    out = em.add_mutually_exclusive_group()
    out.add_argument("--out", default="embeddings", help="folder for one <id>.npy per input (default: embeddings)")
    out.add_argument("--parquet", metavar="FILE", help="write one Parquet table instead (id, path, status, reason, "
                     "frames, dim, vector)")
    em.set_defaults(func=cmd_embed)

    sv = sub.add_parser("serve", help="the web app: search by video or text, and the evaluation results")
    sv.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1: this machine only)")
    sv.add_argument("--port", type=int, default=8501, help="port (default 8501)")
    sv.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                    help="also answer requests for this host name (repeatable; 127.0.0.1, localhost and --host are "
                         "always accepted, any other name is refused against DNS rebinding)")
    sv.set_defaults(func=cmd_serve)

    va = sub.add_parser("validate", help="check the config and every dataset's tables and files without running anything")
    va.set_defaults(func=cmd_validate)
    for subparser in sub.choices.values():  # `signsearch search --config X` as well as `signsearch --config X search`
        _add_config_options(subparser, "sub_config")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except UserError as exc:  # the user's to fix: their message, never a traceback
        print(f"signsearch: {user_message(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
