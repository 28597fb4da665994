"""Run an eval set through the system and score it: one row per question, then a summary."""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Callable
from pathlib import Path

from rag.config import Config
from rag.datasets import EvalSet
from rag.embedding import Embedder
from rag.indexing import index_documents, index_path
from rag.metrics import evidence_recall, reciprocal_rank
from rag.retrieval import Retriever
from rag.store import Store


def eval_index(dataset: EvalSet, config: Config, embedder: Embedder) -> Store:
    """The dataset's own index under index/eval-<name>, brought up to date incrementally."""
    index_dir = config.index_dir.parent / f"eval-{dataset.name}"
    store = Store(index_dir, embedder=embedder.name, dim=embedder.dim, exact_limit=config.exact_limit)
    if dataset.corpus_dir is not None:
        index_path(dataset.corpus_dir, store, embedder, config)
    else:
        index_documents(dataset.documents, store, embedder, config, root=f"eval:{dataset.name}", prune=True)
    return store


def retrieval_scores(
    dataset: EvalSet, retriever: Retriever, *, mode: str = "hybrid", k: int = 10,
    on_item: Callable[[int], None] | None = None,
) -> dict:
    """Evidence recall@1/5/10, MRR@10 and gold-document recall@10 over the answerable items."""
    rows = []
    for i, item in enumerate(it for it in dataset.items if it.answerable and it.evidence):
        hits = retriever.search(item.question, max(k, 30), mode=mode)
        spans = [(h.doc_id, h.start, h.end) for h in hits]
        docs = list(dict.fromkeys(h.doc_id for h in hits))
        gold_docs = {e.doc_id for e in item.evidence}
        rows.append({
            "recall@1": evidence_recall(spans, item.evidence, 1),
            "recall@5": evidence_recall(spans, item.evidence, 5),
            "recall@10": evidence_recall(spans, item.evidence, 10),
            "all@5": float(evidence_recall(spans, item.evidence, 5) == 1.0),
            "mrr@10": reciprocal_rank(spans, item.evidence, 10),
            "doc_recall@10": float(bool(gold_docs & set(docs[:10]))),
        })
        if on_item:
            on_item(i)
    summary = {name: round(statistics.fmean(r[name] for r in rows), 4) for name in rows[0]} if rows else {}
    return {"mode": mode, "questions": len(rows), **summary}


def retrieval_table(dataset: EvalSet, config: Config, embedder: Embedder, modes=("dense", "bm25", "hybrid")) -> list[dict]:
    store = eval_index(dataset, config, embedder)
    retriever = Retriever(store, embedder, dataclasses.replace(config, candidates=max(config.candidates, 30)))
    return [retrieval_scores(dataset, retriever, mode=mode) for mode in modes]


def format_table(rows: list[dict]) -> str:
    columns = list(rows[0])
    lines = [" | ".join(columns), " | ".join("---" for _ in columns)]
    lines += [" | ".join(str(r[c]) for c in columns) for r in rows]
    return "\n".join(lines)
