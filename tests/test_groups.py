"""Private document sets: a document indexed for some groups never reaches anyone outside them."""

from __future__ import annotations

import random
import sqlite3

import pytest

from rag.errors import ConfigError
from rag.indexing import check_groups, index_path
from rag.retrieval import Retriever
from rag.store import DB_NAME, Store
from tests.conftest import TOY, ScriptedGenerator

WORDS = ("budget travel salary office lease audit hiring laptop pension parking canteen badge contract "
         "invoice holiday training server backup printer meeting").split()


def test_readers_are_stored_and_decide_who_may_read(toy_corpus, tmp_path, store, embedder, config):
    index_path(toy_corpus, store, embedder, config)
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "payroll.txt").write_text("The payroll budget for 2025 is 4 million euros.", encoding="utf-8")
    index_path(secret, store, embedder, config, readers=["hr", "finance"])

    assert store.document("payroll.txt").readers == ("finance", "hr")
    assert store.document("whales.txt").readers == ()
    assert store.readable(["hr"]) is None  # hr may read everything: no filter needed
    assert sorted(store.readable(["sales"])) == sorted(TOY)
    assert sorted(store.readable([])) == sorted(TOY)


def test_changing_the_groups_reindexes_the_document(tmp_path, store, embedder, config):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "plan.txt").write_text("The office move is planned for June.", encoding="utf-8")
    index_path(folder, store, embedder, config, readers=["board"])
    report = index_path(folder, store, embedder, config, readers=["board", "staff"])
    assert report.updated == ["plan.txt"]
    assert store.document("plan.txt").readers == ("board", "staff")
    assert index_path(folder, store, embedder, config, readers=["staff", "board"]).unchanged == 1


def test_group_names_must_be_plain():
    assert check_groups([" hr", "finance", "hr"]) == ("finance", "hr")
    for bad in (["a,b"], [""], ["  "]):
        with pytest.raises(ConfigError, match="a group name must be non-empty and without commas"):
            check_groups(bad)


def test_an_index_from_before_readers_keeps_every_document_public(tmp_path, embedder):
    folder = tmp_path / "old"
    folder.mkdir()
    db = sqlite3.connect(folder / DB_NAME)
    db.executescript("""
        CREATE TABLE documents (doc_id TEXT PRIMARY KEY, title TEXT NOT NULL, source TEXT NOT NULL,
            date TEXT NOT NULL, path TEXT NOT NULL, root TEXT NOT NULL, sha256 TEXT NOT NULL, text TEXT NOT NULL);
        INSERT INTO documents VALUES ('a.txt', 'A', '', '', '/x/a.txt', '/x', 'h', 'Some text.');
    """)
    db.commit()
    db.close()
    store = Store(folder, embedder=embedder.name, dim=embedder.dim)
    try:
        assert store.document("a.txt").readers == ()
        assert store.readable(["anyone"]) is None
    finally:
        store.close()


def test_no_search_or_answer_ever_reaches_a_document_the_asker_may_not_read(tmp_path, store, embedder, config):
    """Many documents in random groups, many askers in random groups, many questions: every hit,
    passage and citation comes from a document the asker may read, and a reader still gets k hits."""
    import dataclasses

    from rag.pipeline import Assistant

    rng = random.Random(7)
    groups = ["hr", "finance", "legal", "it", "sales"]
    readers_of: dict[str, tuple[str, ...]] = {}
    for g in range(6):
        chosen = tuple(rng.sample(groups, rng.randint(1, 2))) if g < 5 else ()
        folder = tmp_path / f"set{g}"
        folder.mkdir()
        for i in range(8):
            words = rng.sample(WORDS, 6)
            (folder / f"s{g}-{i}.txt").write_text(
                f"Set {g} file {i} covers {words[0]} and {words[1]}. The {words[2]} rules changed for {words[3]}. "
                f"Ask about {words[4]} or {words[5]}.", encoding="utf-8")
            readers_of[f"s{g}-{i}.txt"] = check_groups(chosen)
        index_path(folder, store, embedder, config, readers=chosen)

    def may_read(asker: set[str], doc_id: str) -> bool:
        return not readers_of[doc_id] or bool(asker & set(readers_of[doc_id]))

    from rag.web.library import Library

    retriever = Retriever(store, embedder, config)
    cfg = dataclasses.replace(config, min_dense_score=0.0, judge=False)
    library = Library(Assistant(cfg, store, embedder, ScriptedGenerator()), tmp_path / "uploads")
    for trial in range(60):
        asker = set(rng.sample(groups, rng.randint(0, 2)))
        view = library.as_reader(sorted(asker))
        listed = {d.doc_id for d in view.documents()}
        assert listed == {d for d in readers_of if may_read(asker, d)}
        assert all((view.document(d) is not None) == may_read(asker, d) for d in readers_of)
        question = f"What changed about {rng.choice(WORDS)} and {rng.choice(WORDS)}?"
        hits = retriever.search(question, 5, groups=asker, mode=rng.choice(["hybrid", "dense", "bm25"]))
        assert all(may_read(asker, h.doc_id) for h in hits), (asker, [h.doc_id for h in hits])
        if hits and rng.random() < 0.3:
            generator = ScriptedGenerator(" ".join(f"{h.text.split('.')[0]} [{n}]." for n, h in enumerate(hits[:3], 1)))
            answer = Assistant(cfg, store, embedder, generator).ask(question, groups=asker)
            seen = [p.doc_id for p in answer.passages] + [c.doc_id for c in answer.citations] + [
                h.doc_id for h in answer.hits]
            assert all(may_read(asker, d) for d in seen), (asker, seen)
            prompt = str(generator.prompts)
            assert not [d for d in readers_of if not may_read(asker, d) and _opening(d) in prompt]
    # a reader of a single small set still gets k hits from it (the filter comes before ranking)
    only = next(g for g in groups if sum(may_read({g}, d) for d in readers_of) >= 16)
    hits = retriever.search("What changed about the budget?", 10, groups={only}, mode="dense")
    assert len(hits) == 10 and all(may_read({only}, h.doc_id) for h in hits)


def _opening(doc_id: str) -> str:
    g, i = doc_id.removeprefix("s").removesuffix(".txt").split("-")
    return f"Set {g} file {i} covers"


def test_an_asker_who_may_read_nothing_gets_nothing(tmp_path, store, embedder, config):
    folder = tmp_path / "private"
    folder.mkdir()
    (folder / "board.txt").write_text("The board approved the merger in May.", encoding="utf-8")
    index_path(folder, store, embedder, config, readers=["board"])
    retriever = Retriever(store, embedder, config)
    assert retriever.search("When was the merger approved?", 5, groups=["staff"]) == []
    assert [h.doc_id for h in retriever.search("When was the merger approved?", 5, groups=["board"])] == ["board.txt"]
    assert [h.doc_id for h in retriever.search("When was the merger approved?", 5)] == ["board.txt"]


@pytest.mark.parametrize("exact_limit", [200_000, 50])
def test_filtered_dense_search_is_exact_over_the_allowed_chunks(tmp_path, embedder, exact_limit):
    """The FAISS id selector (exact index) and the exact scan (past exact_limit, an IVF index) both
    return the true nearest allowed chunks, however few are allowed."""
    import numpy as np

    from rag.types import Chunk, Document

    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((400, embedder.dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    store = Store(tmp_path / "index", embedder=embedder.name, dim=embedder.dim, exact_limit=exact_limit)
    try:
        with store.writer() as batch:
            for d in range(40):
                doc = Document(f"d{d}.txt", f"d{d}", "x")
                batch.put(doc, "root", str(d), [Chunk(doc.doc_id, 0, 1, "x")] * 10, vectors[d * 10 : (d + 1) * 10])
            batch.commit()
        assert hasattr(store.index, "nprobe") == (exact_limit == 50)
        ids = np.array([i for i, in store.db.execute("SELECT id FROM chunks ORDER BY id")])
        doc_of = {int(i): f"d{n // 10}.txt" for n, i in enumerate(ids)}
        for allowed in (["d3.txt"], [f"d{d}.txt" for d in range(0, 40, 7)], [f"d{d}.txt" for d in range(39)]):
            query = vectors[rng.integers(400)]
            mask = np.array([doc_of[int(i)] in allowed for i in ids])
            scores = vectors @ query
            truth = [int(ids[i]) for i in np.argsort(-np.where(mask, scores, -np.inf))[:8]]
            found = [cid for cid, _ in store.dense_search(query, 8, allowed)]
            assert found == truth
    finally:
        store.close()


def test_a_private_document_written_by_another_process_is_filtered_at_once(tmp_path, toy_corpus, embedder, config):
    """The readable documents are cached; a write by another process (another Store on the same
    folder) must still reach the next filter, not wait for this process to notice."""
    server = Store(config.index_dir, embedder=embedder.name, dim=embedder.dim)
    index_path(toy_corpus, server, embedder, config)
    assert server.readable(["staff"]) is None  # every document public: no filter
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "salaries.txt").write_text("The board approved salaries of 9 million euros.", encoding="utf-8")
    writer = Store(config.index_dir, embedder=embedder.name, dim=embedder.dim)
    index_path(secret, writer, embedder, config, readers=["board"])
    readable = server.readable(["staff"])
    assert readable is not None and sorted(readable) == sorted(TOY)
    assert sorted(server.allowed(None, ["staff"])) == sorted(TOY)
