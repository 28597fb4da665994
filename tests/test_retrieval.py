from rag.indexing import index_path
from rag.retrieval import Retriever, rrf


def test_rrf_rewards_agreement():
    fused = rrf([[(1, 0.9), (2, 0.8)], [(2, 5.0), (3, 4.0)]], k=60)
    assert max(fused, key=fused.get) == 2
    assert fused[1] == 1 / 61


def test_hybrid_dense_and_bm25_find_the_right_document(toy_corpus, store, embedder, config):
    index_path(toy_corpus, store, embedder, config)
    retriever = Retriever(store, embedder, config)
    for mode in ("hybrid", "dense", "bm25"):
        top = retriever.search("How much can a blue whale weigh?", 3, mode=mode)
        assert top[0].doc_id == "whales.txt", mode
    hit = retriever.search("whales weigh", 1)[0]
    assert hit.dense_rank == 1 and hit.bm25_rank == 1 and hit.title == "whales"  # first line too long for a title: the file name


def test_filter_by_document(toy_corpus, store, embedder, config):
    index_path(toy_corpus, store, embedder, config)
    hits = Retriever(store, embedder, config).search("whale weigh", 5, doc_ids=["coffee.txt", "rail.md"])
    assert hits and {h.doc_id for h in hits} <= {"coffee.txt", "rail.md"}


def test_nothing_to_search(store, embedder, config):
    assert Retriever(store, embedder, config).search("anything", 3) == []
