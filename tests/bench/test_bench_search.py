import json

import numpy as np
from conftest import FakeEmbedder

from rag.bench import search as bench


class _FakeModel:
    """Stands in for the SentenceTransformer: `encode` with its keyword arguments."""

    def __init__(self, embedder: FakeEmbedder):
        self.embedder = embedder
        self.calls: list[dict] = []

    def encode(self, texts, batch_size=32, normalize_embeddings=False, **kwargs):
        self.calls.append({"n": len(texts), "batch_size": batch_size, "normalize": normalize_embeddings})
        return FakeEmbedder.encode(self.embedder, list(texts))


class FakeEmbedderWithModel(FakeEmbedder):
    def __init__(self):
        super().__init__()
        self.model = _FakeModel(self)

    def raw_encode(self, texts):
        return self.model.encode(texts, batch_size=64, normalize_embeddings=True)


def test_bench_search_reports_latency_and_exact_recall():
    rows = bench.bench_search(sizes=(2000,), dim=32, queries=20, clusters=50)
    assert [r["path"] for r in rows] == ["Store.dense_search", "faiss.IndexFlatIP", "build_faiss(exact_limit=0)",
                                         "Store.dense_search, groups read 10%", "Store.dense_search, groups read 90%"]
    for row in rows[:3]:
        assert set(bench.SEARCH_COLUMNS) - {"db_mb"} <= set(row)
        assert row["size"] == 2000 and 0 < row["p50_ms"] <= row["p95_ms"] and row["file_mb"] > 0
    ours, raw, ivf, few, most = rows
    assert few["recall_at_10"] == most["recall_at_10"] == 1.0  # filtered search is exact over what may be read
    assert 0 < few["p50_ms"] <= few["p95_ms"] and 0 < most["p50_ms"] <= most["p95_ms"]
    assert ours["index"] == raw["index"] == "flat (exact)"
    assert ours["recall_at_10"] == 1.0 and raw["recall_at_10"] == 1.0
    assert ivf["index"].startswith("IVF") and 0 < ivf["recall_at_10"] <= 1.0
    assert ours["db_mb"] > 2000 * 32 * 4 / 2**20
    json.dumps(rows)  # plain data
    assert "Store.dense_search" in bench.format_rows(rows, bench.SEARCH_COLUMNS)


def test_bench_search_store_switches_to_ivf_past_its_exact_limit():
    ours = bench.bench_search(sizes=(3000,), dim=16, queries=10, clusters=20, exact_limit=1000)[0]
    assert ours["index"].startswith("IVF") and 0 < ours["recall_at_10"] <= 1.0


def test_bench_indexing_times_ours_and_raw_on_the_same_chunks(toy_corpus, config):
    embedder = FakeEmbedderWithModel()
    result = bench.bench_indexing(config, embedder, toy_corpus, repeats=2)
    assert result["docs"] == 6 and result["chunks"] >= 6
    assert len(result["ours_runs_s"]) == len(result["raw_runs_s"]) == 2
    assert result["ours_s"] == min(result["ours_runs_s"]) and result["ratio"] > 0
    timed = [c for c in embedder.model.calls if c["n"] == result["chunks"]]
    assert len(timed) == 2 and all(c["batch_size"] == 64 and c["normalize"] for c in timed)
    assert result["peak_rss_mb"] > 0
    assert bench.format_rows([result], bench.INDEXING_COLUMNS).splitlines()[2].split()[:2] == ["corpus", "6"]


def test_generated_corpus_is_deterministic_and_sized(tmp_path, config):
    first = bench.write_generated_corpus(tmp_path / "a", 5)
    second = bench.write_generated_corpus(tmp_path / "b", 5)
    texts = [p.read_text() for p in sorted(first.iterdir())]
    assert texts == [p.read_text() for p in sorted(second.iterdir())]
    assert all(150 <= len(t.split()) <= 400 for t in texts)

    result = bench.bench_indexing(config, FakeEmbedderWithModel(), None, generated_docs=5, repeats=1)
    assert result["corpus"] == "generated:5" and result["docs"] == 5 and result["chunks"] > 5


def test_format_rows_aligns_columns():
    table = bench.format_rows([{"name": "a", "x": 1.23456, "n": 3}, {"name": "bbb", "x": 250.0, "n": 10}])
    lines = table.splitlines()
    assert lines[0].split() == ["name", "x", "n"] and len({len(line) for line in lines}) == 1
    assert "1.23" in lines[2] and "250" in lines[3]
    assert bench.format_rows([]) == "(no rows)"
    assert np.isfinite(bench.peak_rss_mb()) and isinstance(bench.other_cpu_seconds(), float)


def test_bench_queries_times_english_and_chinese_questions():
    rows = bench.bench_queries(FakeEmbedder())
    assert [(r["language"], r["questions"]) for r in rows] == [("en", 30), ("zh", 30)]
    assert all(0 < r["p50_ms"] <= r["p95_ms"] for r in rows)
