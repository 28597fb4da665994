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


# -- answers --------------------------------------------------------------------------------------

def score_item(item, answer, document_text) -> dict:
    """Every metric for one question; None where a metric does not apply to the item."""
    from rag.metrics import keys_present, overlaps, rouge_l, token_f1

    quotes = [document_text(c.doc_id)[c.start : c.end] == c.quote for c in answer.citations]
    spans = [(h.doc_id, h.start, h.end) for h in answer.hits]
    row = {
        "refused": answer.refused,
        "keys": keys_present(answer.text, item.keys) and not answer.refused if item.keys and item.answerable else None,
        "f1": max((token_f1(answer.text, a) for a in item.answers), default=0.0) if item.answers and not answer.refused
        else (0.0 if item.answers else None),
        "rougeL": max((rouge_l(answer.text, a) for a in item.answers), default=0.0) if item.answers and not answer.refused
        else (0.0 if item.answers else None),
        "quotes_exact": sum(quotes) / len(quotes) if quotes else None,
        "citation_precision": (
            sum(any(overlaps((c.doc_id, c.start, c.end), e) or overlaps((c.doc_id, c.passage_start, c.passage_end), e)
                    for e in item.evidence) for c in answer.citations) / len(answer.citations)
            if answer.citations and item.evidence else None
        ),
        "recall@5": evidence_recall(spans, item.evidence, 5) if item.evidence else None,
        "mrr@10": reciprocal_rank(spans, item.evidence, 10) if item.evidence else None,
    }
    return row


def summarize(rows: list[dict]) -> dict:
    """Aggregate metrics; each is defined in the report's glossary."""
    from rag.metrics import percentile

    def mean(key, where=lambda r: True):
        values = [float(r["metrics"][key]) for r in rows if where(r) and r["metrics"].get(key) is not None]
        return round(statistics.fmean(values), 4) if values else None

    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    quotes = [q for r in rows for q in [r["metrics"]["quotes_exact"]] if q is not None]
    summary = {
        "questions": len(rows),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "key_match": mean("keys", lambda r: r["answerable"]),
        "token_f1": mean("f1", lambda r: r["answerable"]),
        "rougeL": mean("rougeL", lambda r: r["answerable"]),
        "unanswerable_refused": round(sum(r["refused"] for r in unanswerable) / len(unanswerable), 4) if unanswerable else None,
        "answerable_refused": round(sum(r["refused"] for r in answerable) / len(answerable), 4) if answerable else None,
        "quotes_exact": round(statistics.fmean(quotes), 4) if quotes else None,
        "citation_precision": mean("citation_precision", lambda r: r["answerable"]),
        "recall@5": mean("recall@5", lambda r: r["answerable"]),
        "mrr@10": mean("mrr@10", lambda r: r["answerable"]),
    }
    stages = sorted({k for r in rows for k in r["timings"]})
    for stage in stages:
        values = [r["timings"][stage] for r in rows if stage in r["timings"]]
        summary[f"{stage}_p50"] = round(percentile(values, 50), 3)
        summary[f"{stage}_p95"] = round(percentile(values, 95), 3)
    return summary


def run_eval(dataset: EvalSet, assistant, *, on_item: Callable[[int, dict], None] | None = None) -> tuple[list[dict], dict]:
    """Ask every question of `dataset` through the full pipeline; returns (rows, summary)."""
    texts: dict[str, str] = {}

    def document_text(doc_id: str) -> str:
        if doc_id not in texts:
            doc = assistant.store.document(doc_id)
            texts[doc_id] = doc.text if doc else ""
        return texts[doc_id]

    rows = []
    for i, item in enumerate(dataset.items):
        answer = assistant.ask(item.question, item.history)
        row = {
            "id": item.id, "question": item.question, "answerable": item.answerable, "keys": list(item.keys),
            "gold": [{"doc_id": e.doc_id, "start": e.start, "end": e.end, "quote": e.quote} for e in item.evidence],
            "reference": list(item.answers), **answer.to_json(),
            "retrieved": [{"doc_id": h.doc_id, "start": h.start, "end": h.end, "score": round(h.score, 4)}
                          for h in answer.hits],
            "raw": answer.raw, "metrics": score_item(item, answer, document_text),
        }
        row["timings"] = {k: round(v, 3) for k, v in answer.timings.items()}
        rows.append(row)
        if on_item:
            on_item(i, row)
    return rows, summarize(rows)
