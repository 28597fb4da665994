"""Vectors in Milvus Lite (the real engine, in-process): the same answers as FAISS, filters inside
Milvus, and an index that stays consistent when a write dies between the two stores."""

from __future__ import annotations

import random

import numpy as np
import pytest

pytest.importorskip("pymilvus")

from rag.errors import IndexMismatchError
from rag.indexing import index_path
from rag.retrieval import Retriever
from rag.store import Store
from rag.types import Chunk, Document

DIM = 32
NAMES = ["g0", "hr_team", "hrXteam", "50%off", "g4"]  # wildcards of SQL LIKE in names must not widen a filter


def _stores(tmp_path, name="v"):
    faiss = Store(tmp_path / f"{name}-faiss", embedder="synthetic", dim=DIM)
    milvus = Store(tmp_path / f"{name}-milvus", embedder="synthetic", dim=DIM, vectors="milvus")
    return faiss, milvus


def _fill(stores, docs: int = 60, per_doc: int = 25, seed: int = 0) -> np.ndarray:
    """The same random unit vectors in each store, in documents readable by one or two of four groups
    or by everyone."""
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((docs * per_doc, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    for store in stores:
        with store.writer() as batch:
            for d in range(docs):
                readers = () if d % 5 == 0 else tuple(sorted({NAMES[d % 4], NAMES[d % 3 + 2]}))
                doc = Document(f"doc{d:03d}.txt", f"Doc {d}", "text", readers=readers)
                chunks = [Chunk(doc.doc_id, i, i + 1, f"chunk {i} of {d}") for i in range(per_doc)]
                batch.put(doc, "root", f"h{d}", chunks, vectors[d * per_doc : (d + 1) * per_doc])
            batch.commit()
    return vectors


def test_milvus_lite_and_faiss_give_the_same_top_10(tmp_path):
    faiss, milvus = _stores(tmp_path)
    _fill([faiss, milvus])
    assert milvus.milvus.ntotal == faiss.index.ntotal == 1500
    queries = np.random.default_rng(1).standard_normal((40, DIM)).astype(np.float32)
    for q in queries / np.linalg.norm(queries, axis=1, keepdims=True):
        ours, theirs = faiss.dense_search(q, 10), milvus.dense_search(q, 10)
        assert [cid for cid, _ in ours] == [cid for cid, _ in theirs]
        assert np.allclose([s for _, s in ours], [s for _, s in theirs], atol=1e-5)


def test_document_and_group_filters_give_the_same_results(tmp_path):
    faiss, milvus = _stores(tmp_path)
    _fill([faiss, milvus])
    rng = random.Random(2)
    all_docs = [f"doc{d:03d}.txt" for d in range(60)]
    queries = np.random.default_rng(3).standard_normal((30, DIM)).astype(np.float32)
    for q in queries:
        doc_ids = rng.sample(all_docs, rng.randint(1, 10)) if rng.random() < 0.5 else None
        groups = frozenset(rng.sample([*NAMES, "other"], rng.randint(0, 2))) if rng.random() < 0.7 else None
        ours = faiss.dense_search(q, 10, doc_ids, groups)
        theirs = milvus.dense_search(q, 10, doc_ids, groups)
        assert [cid for cid, _ in ours] == [cid for cid, _ in theirs], (doc_ids, groups)
        # The filter runs inside Milvus (Store's own check after it removes nothing).
        inside = milvus.milvus.search(q, 10, doc_ids, groups)
        assert [cid for cid, _ in inside] == [cid for cid, _ in theirs]
        allowed = milvus.allowed(doc_ids, groups)
        rows = milvus.chunks([cid for cid, _ in theirs])
        assert allowed is None or all(rows[cid][0].doc_id in allowed for cid, _ in theirs)
    # A member of no group sees only the public documents.
    found = milvus.dense_search(queries[0], 50, None, frozenset())
    assert found and all(int(milvus.chunks([cid])[cid][0].doc_id[3:6]) % 5 == 0 for cid, _ in found)


def test_an_index_keeps_the_backend_it_was_built_with(tmp_path, toy_corpus, embedder, config):
    store = Store(tmp_path / "m", embedder=embedder.name, dim=embedder.dim, vectors="milvus")
    index_path(toy_corpus, store, embedder, config)
    store.close()
    with pytest.raises(IndexMismatchError, match="keeps its vectors in milvus, not faiss"):
        Store(tmp_path / "m", embedder=embedder.name, dim=embedder.dim)
    Store(tmp_path / "f", embedder=embedder.name, dim=embedder.dim).close()
    with pytest.raises(IndexMismatchError, match="keeps its vectors in faiss, not milvus"):
        Store(tmp_path / "f", embedder=embedder.name, dim=embedder.dim, vectors="milvus")


def test_hybrid_search_and_updates_match_faiss(tmp_path, toy_corpus, embedder, config):
    faiss = Store(tmp_path / "f", embedder=embedder.name, dim=embedder.dim)
    milvus = Store(tmp_path / "m", embedder=embedder.name, dim=embedder.dim, vectors="milvus")
    for store in (faiss, milvus):
        index_path(toy_corpus, store, embedder, config)
    (toy_corpus / "whales.txt").write_text("Humpback whales sing songs that last twenty minutes.", encoding="utf-8")
    (toy_corpus / "coffee.txt").unlink()
    for store in (faiss, milvus):
        report = index_path(toy_corpus, store, embedder, config)
        assert report.updated == ["whales.txt"] and report.removed == ["coffee.txt"]
    assert milvus.milvus.ntotal == milvus.count()[1] == faiss.index.ntotal
    assert milvus.db.execute("SELECT count(*) FROM vector_deletions").fetchone()[0] == 0
    for question in ("How long do whale songs last?", "coffee prices Brazil", "When does the library open?"):
        for groups in (None, ["nobody"]):
            ours = Retriever(faiss, embedder, config).search(question, groups=groups)
            theirs = Retriever(milvus, embedder, config).search(question, groups=groups)
            assert [(h.doc_id, h.start, h.end) for h in ours] == [(h.doc_id, h.start, h.end) for h in theirs]
            assert all(h.doc_id != "coffee.txt" for h in theirs)


def test_a_write_that_dies_before_its_commit_leaves_the_previous_index(tmp_path, toy_corpus, embedder, config,
                                                                      monkeypatch):
    store = Store(tmp_path / "m", embedder=embedder.name, dim=embedder.dim, vectors="milvus")
    index_path(toy_corpus, store, embedder, config)
    before = Retriever(store, embedder, config).search("whales weigh tonnes")
    chunks = store.count()[1]

    (toy_corpus / "whales.txt").write_text("Whales weigh tonnes. " * 40, encoding="utf-8")
    (toy_corpus / "solar.txt").unlink()
    real_set = Store._set

    def crash_on_generation(self, key, value):
        if key == "generation":
            raise RuntimeError("power cut")
        real_set(self, key, value)

    monkeypatch.setattr(Store, "_set", crash_on_generation)
    with pytest.raises(RuntimeError, match="power cut"):
        index_path(toy_corpus, store, embedder, config)
    monkeypatch.undo()
    # Milvus holds the dead write's vectors; SQLite rolled back, so searches do not see them.
    assert store.milvus.ntotal > chunks
    after = Retriever(store, embedder, config).search("whales weigh tonnes")
    assert [(h.chunk_id, h.text) for h in after] == [(h.chunk_id, h.text) for h in before]

    reopened = Store(tmp_path / "m", embedder=embedder.name, dim=embedder.dim, vectors="milvus")
    report = index_path(toy_corpus, reopened, embedder, config)
    assert report.updated == ["whales.txt"] and report.removed == ["solar.txt"]
    assert reopened.milvus.ntotal == reopened.count()[1]
    assert all(h.doc_id != "solar.txt" for h in Retriever(reopened, embedder, config).search("solar panels Nevada"))


def test_the_cli_takes_vectors_milvus_and_refuses_a_mismatch_in_one_line(monkeypatch, embedder, tmp_path, toy_corpus,
                                                                         capsys):
    from rag import cli

    monkeypatch.setattr("rag.embedding.load_embedder", lambda name: embedder)
    index = ["--index", str(tmp_path / "index")]
    assert cli.main([*index, "--vectors", "milvus", "index", str(toy_corpus), "--quiet"]) == 0
    assert "6 added" in capsys.readouterr().out
    assert (tmp_path / "index" / "milvus.db").exists()
    assert cli.main([*index, "--vectors", "milvus", "search", "blue whales weigh", "-k", "1"]) == 0
    assert "whales.txt" in capsys.readouterr().out
    assert cli.main([*index, "search", "blue whales weigh"]) == cli.EXIT_ERROR
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: index ") and "keeps its vectors in milvus, not faiss" in err and "\n" not in err
    assert cli.main([*index, "--vectors", "pinecone", "search", "x"]) == cli.EXIT_ERROR
    assert capsys.readouterr().err.strip() == (
        "error: vectors 'pinecone': expected faiss, milvus, milvus://PATH.db or milvus://HOST:PORT")
