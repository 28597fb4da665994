"""Hybrid search: dense (FAISS) and lexical (SQLite FTS5 BM25) candidates, fused by reciprocal rank."""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Iterable
from typing import Literal

import numpy as np

from rag.config import Config
from rag.embedding import Embedder
from rag.store import Store
from rag.types import Hit

Mode = Literal["hybrid", "dense", "bm25"]


@dataclass
class Retriever:
    store: Store
    embedder: Embedder
    config: Config

    def search(self, query: str, k: int | None = None, *, mode: Mode = "hybrid",
               doc_ids: list[str] | None = None, vector: np.ndarray | None = None,
               groups: Iterable[str] | None = None) -> list[Hit]:
        """The k best chunks for `query`, optionally only from the documents `doc_ids`.

        `vector` is the query's embedding when the caller already has it.
        """
        return self.search_all([query], k, mode=mode, doc_ids=doc_ids, groups=groups,
                               vectors=None if vector is None else vector[None, :])

    def search_all(self, queries: list[str], k: int | None = None, *, mode: Mode = "hybrid",
                   doc_ids: list[str] | None = None, vectors: np.ndarray | None = None,
                   groups: Iterable[str] | None = None) -> list[Hit]:
        """The k best chunks for several queries at once: every query's dense and BM25 rankings fused
        by reciprocal rank (a follow-up and its conversation; a question and its second hop).

        With `groups` (the asker's), only documents those groups may read are searched: the filter
        comes before ranking, so a reader of few documents still gets k hits from them.
        """
        k = k or self.config.top_k
        n = max(k, self.config.candidates)
        self.store.refresh()
        if groups is not None:
            groups = frozenset(groups)
            allowed = self.store.allowed(doc_ids, groups)
            if allowed is not None and not allowed:  # nothing this asker may read
                return []
        rankings: list[list[tuple[int, float]]] = []
        dense_at: dict[int, tuple[int, float]] = {}
        bm25_at: dict[int, tuple[int, float]] = {}
        if mode in ("hybrid", "dense"):
            if vectors is None:
                vectors = self.embedder.encode_queries(queries)
            for vector in vectors:
                ranking = self.store.dense_search(vector, n, doc_ids, groups)
                rankings.append(ranking)
                _keep_best(dense_at, ranking)
        if mode in ("hybrid", "bm25"):
            for query in queries:
                ranking = self.store.bm25_search(query, n, doc_ids, groups)
                rankings.append(ranking)
                _keep_best(bm25_at, ranking)
        fused = rrf(rankings, self.config.rrf_k)
        top = sorted(fused, key=lambda cid: (-fused[cid], cid))[:k]
        rows = self.store.chunks(top)
        hits = []
        for cid in top:
            chunk, title = rows[cid]
            d_rank, d_score = dense_at.get(cid, (None, None))
            b_rank, b_score = bm25_at.get(cid, (None, None))
            score = fused[cid] if mode == "hybrid" else (d_score if mode == "dense" else b_score)
            hits.append(Hit(cid, chunk.doc_id, chunk.start, chunk.end, chunk.text, score, title,
                            d_score, b_score, d_rank, b_rank))
        return hits


def _keep_best(at: dict[int, tuple[int, float]], ranking: list[tuple[int, float]]) -> None:
    """Record each chunk's best (rank, score) over several rankings."""
    for rank, (cid, score) in enumerate(ranking, 1):
        if cid not in at or rank < at[cid][0]:
            at[cid] = (rank, score)


def rrf(rankings: list[list[tuple[int, float]]], k: int) -> dict[int, float]:
    """Reciprocal rank fusion: each id scores sum(1 / (k + rank)) over the rankings it appears in."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, (cid, _) in enumerate(ranking, 1):
            fused[cid] = fused.get(cid, 0.0) + 1.0 / (k + rank)
    return fused
