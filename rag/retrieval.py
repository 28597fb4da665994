"""Hybrid search: dense (FAISS) and lexical (SQLite FTS5 BM25) candidates, fused by reciprocal rank."""

from __future__ import annotations

from dataclasses import dataclass
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
               doc_ids: list[str] | None = None, vector: np.ndarray | None = None) -> list[Hit]:
        """The k best chunks for `query`, optionally only from the documents `doc_ids`.

        `vector` is the query's embedding when the caller already has it.
        """
        k = k or self.config.top_k
        n = max(k, self.config.candidates)
        self.store.refresh()
        dense = bm25 = []
        if mode in ("hybrid", "dense"):
            if vector is None:
                vector = self.embedder.encode([query])[0]
            dense = self.store.dense_search(vector, n, doc_ids)
        if mode in ("hybrid", "bm25"):
            bm25 = self.store.bm25_search(query, n, doc_ids)
        fused = rrf([dense, bm25], self.config.rrf_k)
        top = sorted(fused, key=lambda cid: (-fused[cid], cid))[:k]
        dense_at = {cid: (rank, score) for rank, (cid, score) in enumerate(dense, 1)}
        bm25_at = {cid: (rank, score) for rank, (cid, score) in enumerate(bm25, 1)}
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


def rrf(rankings: list[list[tuple[int, float]]], k: int) -> dict[int, float]:
    """Reciprocal rank fusion: each id scores sum(1 / (k + rank)) over the rankings it appears in."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, (cid, _) in enumerate(ranking, 1):
            fused[cid] = fused.get(cid, 0.0) + 1.0 / (k + rank)
    return fused
