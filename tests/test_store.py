import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from rag.errors import IndexLockedError, IndexMismatchError, IndexMissingError
from rag.indexing import index_path
from rag.retrieval import Retriever
from rag.store import Store, build_faiss, fts_query

QUERIES = ["solar electricity Nevada", "train journey hours", "coffee harvest Brazil", "library books", "whale weight"]


def results(store, embedder, config):
    retriever = Retriever(store, embedder, config)
    return [[(h.doc_id, h.start, h.end, round(h.score, 6)) for h in retriever.search(q, 3)] for q in QUERIES]


def test_save_then_load_gives_identical_results(toy_corpus, store, embedder, config):
    index_path(toy_corpus, store, embedder, config)
    before, counts = results(store, embedder, config), store.count()
    store.close()
    reopened = Store(config.index_dir, embedder=embedder.name, dim=embedder.dim)
    assert results(reopened, embedder, config) == before
    assert reopened.count() == counts and counts[0] == 6


def test_missing_faiss_file_is_rebuilt_from_the_database(toy_corpus, store, embedder, config):
    index_path(toy_corpus, store, embedder, config)
    before = results(store, embedder, config)
    for f in config.index_dir.glob("vectors-*.faiss"):
        f.write_bytes(b"garbage")
    reopened = Store(config.index_dir, embedder=embedder.name, dim=embedder.dim)
    assert results(reopened, embedder, config) == before


def test_other_embedder_is_refused_naming_both(toy_corpus, store, embedder, config):
    index_path(toy_corpus, store, embedder, config)
    with pytest.raises(IndexMismatchError, match=r"built with embedder 'fake-hash' \(64-d\), not 'other' \(384-d\)"):
        Store(config.index_dir, embedder="other", dim=384)


def test_missing_index_is_reported(tmp_path):
    with pytest.raises(IndexMissingError, match=r"no index at .*nothing: run `rag index PATH` first"):
        Store(tmp_path / "nothing", embedder="e", dim=4, create=False)


def test_a_second_writer_is_refused(store, config, embedder):
    other = Store(config.index_dir, embedder=embedder.name, dim=embedder.dim)
    with store.writer():
        with pytest.raises(IndexLockedError, match=r"is being written by pid \d+"):
            with other.writer():
                pass


def test_failed_commit_leaves_previous_index(toy_corpus, store, embedder, config, monkeypatch):
    index_path(toy_corpus, store, embedder, config)
    before = results(store, embedder, config)
    (toy_corpus / "coffee.txt").write_text("Tea is now more popular than coffee in the office.", encoding="utf-8")

    def crash(self, generation):
        raise OSError("disk full")

    monkeypatch.setattr(Store, "_save_faiss", crash)
    with pytest.raises(OSError, match="disk full"):
        index_path(toy_corpus, store, embedder, config)
    assert results(store, embedder, config) == before
    monkeypatch.undo()
    reopened = Store(config.index_dir, embedder=embedder.name, dim=embedder.dim)
    assert results(reopened, embedder, config) == before


KILLED_WRITER = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {tests!r})
    from conftest import FakeEmbedder
    from rag.config import Config
    from rag.indexing import index_path
    from rag.store import Store
    import rag.indexing

    class Slow(FakeEmbedder):
        def encode(self, texts):
            print("encoding", flush=True)
            time.sleep(0.2)
            return super().encode(texts)

    rag.indexing.ENCODE_GROUP = 1
    rag.indexing.COMMIT_CHUNKS = 10**9
    config = Config(index_dir={index!r}, chunk_tokens=40, chunk_overlap=10)
    e = Slow()
    store = Store(config.index_dir, embedder=e.name, dim=e.dim)
    index_path({corpus!r}, store, e, config)
    """
)


def test_killed_index_run_leaves_previous_index_loadable(toy_corpus, store, embedder, config, tmp_path):
    index_path(toy_corpus, store, embedder, config)
    before = results(store, embedder, config)
    for i in range(40):
        (toy_corpus / f"extra{i}.txt").write_text(f"Extra document {i} about nothing much at all.", encoding="utf-8")
    script = KILLED_WRITER.format(tests=os.path.dirname(__file__), index=str(config.index_dir), corpus=str(toy_corpus))
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "encoding"
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    reopened = Store(config.index_dir, embedder=embedder.name, dim=embedder.dim)
    assert results(reopened, embedder, config) == before
    assert reopened.count()[0] == 6
    index_path(toy_corpus, reopened, embedder, config)  # the lock died with the process
    assert reopened.count()[0] == 46


def test_fts_query_quotes_words_and_drops_syntax():
    assert fts_query('What is "NEAR(a b)" OR c*?') == '"near" OR "b" OR "c"'  # stopwords (a, or) dropped
    assert fts_query("?? the of") == ""


def test_ivf_index_past_the_exact_limit_finds_near_duplicates():
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((3000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.arange(100, 3100, dtype=np.int64)
    index = build_faiss(vectors, ids, 32, exact_limit=1000)
    assert hasattr(index, "nprobe")
    _, found = index.search(vectors[:50], 1)
    assert (found[:, 0] == ids[:50]).mean() >= 0.95


def test_bm25_finds_a_chinese_word_inside_a_sentence_without_spaces(tmp_path):
    from rag.types import Chunk, Document

    store = Store(tmp_path / "idx", embedder="fake", dim=4)
    texts = {"a.txt": "公司规定员工每年享有十五天带薪年假。", "b.txt": "差旅费用须在出差结束后三十天内报销。"}
    with store.writer() as batch:
        for i, (doc_id, text) in enumerate(texts.items()):
            vector = np.eye(4, dtype=np.float32)[i : i + 1]
            batch.put(Document(doc_id, doc_id, text), "root", doc_id, [Chunk(doc_id, 0, len(text), text)], vector)
        batch.commit()
    hits = store.bm25_search("员工有多少天年假？", 5)
    assert [store.chunks([cid])[cid][0].doc_id for cid, _ in hits][:1] == ["a.txt"]
    assert store.chunks([hits[0][0]])[hits[0][0]][0].text == texts["a.txt"]  # stored text is unchanged
    assert [store.chunks([c])[c][0].doc_id for c, _ in store.bm25_search("报销", 5)] == ["b.txt"]


def test_an_index_written_before_chinese_terms_is_reindexed_once_on_open(tmp_path):
    from rag.types import Chunk, Document

    store = Store(tmp_path / "idx", embedder="fake", dim=4)
    text = "公司规定员工每年享有十五天带薪年假。"
    with store.writer() as batch:
        batch.put(Document("a.txt", "a", text), "root", "h", [Chunk("a.txt", 0, len(text), text)], np.eye(4, dtype=np.float32)[:1])
        batch.commit()
    # What an older version wrote: the raw sentence as FTS text, and no "lexical" setting.
    store.db.execute("DELETE FROM chunks_fts")
    store.db.execute("INSERT INTO chunks_fts (rowid, text) SELECT id, text FROM chunks")
    store.db.execute("DELETE FROM settings WHERE key = 'lexical'")
    assert store.bm25_search("年假", 5) == []
    store.close()
    reopened = Store(tmp_path / "idx", embedder="fake", dim=4)
    assert len(reopened.bm25_search("年假", 5)) == 1 and reopened.setting("lexical") == "cjk-bigrams"


def test_documents_record_their_language_and_an_older_index_gains_it(tmp_path):
    from rag.types import Chunk, Document

    store = Store(tmp_path / "idx", embedder="fake", dim=4)
    texts = {"zh.txt": "公司规定员工每年享有十五天带薪年假。", "en.txt": "Staff get fifteen days of paid leave a year."}
    with store.writer() as batch:
        for i, (doc_id, text) in enumerate(texts.items()):
            batch.put(Document(doc_id, doc_id, text), "root", doc_id, [Chunk(doc_id, 0, len(text), text)],
                      np.eye(4, dtype=np.float32)[i : i + 1])
        batch.commit()
    assert store.languages() == {"zh": 1, "en": 1} and store.languages(["en.txt"]) == {"en": 1}
    assert store.document_language("zh.txt") == "zh"
    # An index from before: no language column. Reopened, every document has one.
    store.db.executescript(
        "CREATE TABLE old AS SELECT doc_id, title, source, date, path, root, sha256, text, readers FROM documents;"
        "DROP TABLE documents; ALTER TABLE old RENAME TO documents;")
    store.close()
    assert Store(tmp_path / "idx", embedder="fake", dim=4).languages() == {"zh": 1, "en": 1}
