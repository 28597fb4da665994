import dataclasses

from rag import indexing
from rag.indexing import index_path


def test_first_index_then_only_changes_are_embedded(toy_corpus, store, embedder, config):
    first = index_path(toy_corpus, store, embedder, config)
    assert sorted(first.added) == sorted(p.name for p in toy_corpus.iterdir())
    ids_before = {cid for cid, in store.db.execute("SELECT id FROM chunks")}

    again = index_path(toy_corpus, store, embedder, config)
    assert (again.added, again.updated, again.removed, again.unchanged, again.chunks_embedded) == ([], [], [], 6, 0)

    embedder.encoded.clear()
    (toy_corpus / "coffee.txt").write_text("Coffee prices fell 5% this quarter.", encoding="utf-8")
    (toy_corpus / "whales.txt").unlink()
    (toy_corpus / "new.txt").write_text("A new document about tulips.", encoding="utf-8")
    third = index_path(toy_corpus, store, embedder, config)
    assert (third.added, third.updated, third.removed, third.unchanged) == (["new.txt"], ["coffee.txt"], ["whales.txt"], 4)
    assert embedder.encoded == ["Coffee prices fell 5% this quarter.", "A new document about tulips."]
    ids_after = {cid for cid, in store.db.execute("SELECT id FROM chunks")}
    assert min(ids_after - (ids_before & ids_after)) > max(ids_before), "a deleted chunk's id is never reused"
    assert store.index.ntotal == len(ids_after)
    assert {d.doc_id for d in store.documents()} == {"solar.txt", "rail.md", "coffee.txt", "library.md", "robots.txt", "new.txt"}


def test_file_that_turns_bad_keeps_its_previous_version(toy_corpus, store, embedder, config):
    index_path(toy_corpus, store, embedder, config)
    (toy_corpus / "coffee.txt").write_bytes(b"\xff\xfe broken")
    report = index_path(toy_corpus, store, embedder, config)
    assert report.failed and report.removed == []
    assert store.document("coffee.txt").text.startswith("Coffee prices rose")


def test_indexing_a_single_file_leaves_the_rest(toy_corpus, store, embedder, config, tmp_path):
    index_path(toy_corpus, store, embedder, config)
    extra = tmp_path / "note.txt"
    extra.write_text("Standalone note.", encoding="utf-8")
    report = index_path(extra, store, embedder, config)
    assert report.added == ["note.txt"] and report.removed == []
    assert store.count()[0] == 7


def test_changed_chunking_settings_reindex_everything(toy_corpus, store, embedder, config):
    index_path(toy_corpus, store, embedder, config)
    report = index_path(toy_corpus, store, embedder, dataclasses.replace(config, chunk_tokens=20))
    assert sorted(report.updated) == sorted(p.name for p in toy_corpus.iterdir())


def test_an_index_chunked_by_an_older_sentence_splitter_is_rechunked(toy_corpus, store, embedder, config, monkeypatch):
    index_path(toy_corpus, store, embedder, config)
    monkeypatch.setattr(indexing, "SPLITTER_VERSION", indexing.SPLITTER_VERSION + 1)
    report = index_path(toy_corpus, store, embedder, config)
    assert sorted(report.updated) == sorted(p.name for p in toy_corpus.iterdir())
    assert index_path(toy_corpus, store, embedder, config).unchanged == len(report.updated)


def test_every_stored_chunk_matches_its_document(toy_corpus, store, embedder, config):
    index_path(toy_corpus, store, embedder, config)
    for doc in store.documents():
        rows = store.db.execute('SELECT start, "end", text FROM chunks WHERE doc_id = ?', (doc.doc_id,)).fetchall()
        assert rows
        for start, end, text in rows:
            assert doc.text[start:end] == text
