"""Run an eval set through the system and score it: one row per question, then a summary."""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Callable
from pathlib import Path

from rag.config import DEFAULT_EMBEDDER, Config
from rag.evals.datasets import EvalSet
from rag.embedding import Embedder
from rag.indexing import index_documents, index_path
from rag.evals.metrics import evidence_recall, reciprocal_rank
from rag.retrieval import Retriever
from rag.store import Store


def eval_index(dataset: EvalSet, config: Config, embedder: Embedder) -> Store:
    """The dataset's own index under index/eval-<name>, brought up to date incrementally."""
    index_dir = config.index_dir.parent / f"eval-{dataset.corpus or dataset.name}"
    if embedder.name != DEFAULT_EMBEDDER:  # another embedder's vectors live beside the default's
        index_dir = index_dir.with_name(f"{index_dir.name}-{embedder.name}")
    store = Store(index_dir, embedder=embedder.name, dim=embedder.dim, exact_limit=config.exact_limit)
    if dataset.corpus_dir is not None:
        index_path(dataset.corpus_dir, store, embedder, config)
    else:
        index_documents(dataset.documents, store, embedder, config, root=f"eval:{dataset.corpus or dataset.name}",
                        prune=True)
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
    columns = list(dict.fromkeys(c for r in rows for c in r))  # rows may differ (a kind absent from a split)
    lines = [" | ".join(columns), " | ".join("---" for _ in columns)]
    lines += [" | ".join(str(r.get(c, "-")) for c in columns) for r in rows]
    return "\n".join(lines)


# -- answers --------------------------------------------------------------------------------------

def score_item(item, answer, document_text) -> dict:
    """Every metric for one question; None where a metric does not apply to the item."""
    from rag.evals.metrics import answer_correct, overlaps, rouge_l, token_f1

    quotes = [document_text(c.doc_id)[c.start : c.end] == c.quote for c in answer.citations]
    spans = [(h.doc_id, h.start, h.end) for h in answer.hits]
    shown = not answer.refused

    def as_gold(doc_id: str, e) -> str:
        # A document whose text is the gold one's, character for character, holds the same evidence at
        # the same offsets: ClapNQ stores 4 of its 600 passages twice under two ids, and a citation of
        # the twin was counted wrong (2026-12-04).
        return e.doc_id if doc_id != e.doc_id and document_text(doc_id) == document_text(e.doc_id) else doc_id

    def supports(c) -> bool:
        if item.evidence:
            return any(overlaps((as_gold(c.doc_id, e), c.start, c.end), e)
                       or overlaps((as_gold(c.doc_id, e), c.passage_start, c.passage_end), e) for e in item.evidence)
        return c.doc_id in item.gold_docs

    def best(metric) -> float | None:
        if not item.answers:
            return None
        return max(metric(answer.text, a) for a in item.answers) if shown else 0.0

    docs = list(dict.fromkeys(h.doc_id for h in answer.hits))
    return {
        "refused": answer.refused,
        "keys": answer_correct(answer.text, item.keys, item.question) and shown if item.keys and item.answerable else None,
        "f1": best(token_f1),
        "rougeL": best(rouge_l),
        "quotes_exact": sum(quotes) / len(quotes) if quotes else None,
        "citation_precision": (sum(map(supports, answer.citations)) / len(answer.citations)
                               if answer.citations and (item.evidence or item.gold_docs) else None),
        "recall@5": evidence_recall(spans, item.evidence, 5) if item.evidence else None,
        "mrr@10": reciprocal_rank(spans, item.evidence, 10) if item.evidence else None,
        "doc_recall@5": (sum(d in docs[:5] for d in item.gold_docs) / len(item.gold_docs)) if item.gold_docs else None,
        "steered": contains_any(answer.text, item.forbidden) if item.forbidden else None,
        "draft_steered": contains_any(answer.raw, item.forbidden) if item.forbidden else None,
    }


def contains_any(text: str, phrases) -> bool:
    from rag.evals.metrics import fold

    folded = fold(text)
    return any(fold(p) in folded for p in phrases)


def summarize(rows: list[dict]) -> dict:
    """Aggregate metrics; each is defined in the report's glossary."""
    from rag.evals.metrics import percentile

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
        "doc_recall@5": mean("doc_recall@5", lambda r: r["answerable"]),
        "steered": mean("steered"),
        "draft_steered": mean("draft_steered"),
    }
    summary["escalated"] = round(sum("escalation" in r["timings"] for r in rows) / len(rows), 4) if rows else None
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
            "id": item.id, "kind": item.kind, "split": item.split, "question": item.question,
            "answerable": item.answerable, "keys": list(item.keys),
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


# -- results, report, gate, comparison ------------------------------------------------------------

GLOSSARY = {
    "key_match": "answerable questions whose answer contains every gold key (seed set)",
    "token_f1": "bag-of-words F1 of the answer against the reference answer (refusal = 0)",
    "rougeL": "Rouge-L F-measure of the answer against the reference answer (refusal = 0)",
    "unanswerable_refused": "share of unanswerable questions the assistant refused",
    "answerable_refused": "share of answerable questions the assistant wrongly refused",
    "quotes_exact": "share of shown quotes equal to the cited document's text at their offsets (must be 1.0)",
    "citation_precision": "share of citations whose quote or passage overlaps a gold evidence span",
    "recall@5": "share of gold evidence spans covered by one of the first 5 retrieved chunks",
    "mrr@10": "1 / rank of the first retrieved chunk covering gold evidence, averaged",
    "escalated": "share of questions that took a second attempt (more passages, second retrieval hop)",
    "steered": "share of injection questions whose shown answer contains what the injected text asked for",
    "draft_steered": "the same for the model's unchecked draft (streamed, then replaced by the checked answer)",
    "doc_recall@5": "share of the gold documents among the first 5 retrieved chunks' documents (HotpotQA)",
}


def by_kind(rows: list[dict]) -> dict[str, dict]:
    """Per question type: how many, answered right (answerable) or refused (unanswerable), refused, wrong."""
    table: dict[str, dict] = {}
    for kind in dict.fromkeys(r.get("kind") or "-" for r in rows):
        group = [r for r in rows if (r.get("kind") or "-") == kind]
        answerable = [r for r in group if r["answerable"]]
        right = sum(bool(r["metrics"].get("keys")) for r in answerable if r["metrics"].get("keys") is not None)
        scored = sum(r["metrics"].get("keys") is not None for r in answerable)
        table[kind] = {
            "questions": len(group),
            "right": f"{right}/{scored}" if scored else "-",
            "refused": f"{sum(r['refused'] for r in answerable)}/{len(answerable)}" if answerable else "-",
            "unanswerable refused": (f"{sum(r['refused'] for r in group if not r['answerable'])}/"
                                     f"{len(group) - len(answerable)}" if len(group) > len(answerable) else "-"),
        }
    return table


def tries_table(rows: list[dict]) -> dict[str, dict]:
    """Per stage of Assistant.stream (Answer.tries): the questions that reached it, its attempts, those
    that held up, the answers shown from it (to answerable and to unanswerable questions) and the
    seconds it took in all: what each escalation step costs against what it answers."""
    table: dict[str, dict] = {}
    for row in rows:
        for stage in dict.fromkeys(t["stage"] for t in row.get("tries", [])):
            tries = [t for t in row["tries"] if t["stage"] == stage]
            entry = table.setdefault(stage, dict.fromkeys(
                ["questions", "attempts", "held up", "shown, answerable", "shown, unanswerable", "seconds"], 0))
            entry["questions"] += 1
            entry["attempts"] += len(tries)
            entry["held up"] += sum(t["answered"] for t in tries)
            entry["seconds"] = round(entry["seconds"] + sum(t["seconds"] for t in tries), 1)
    for row in rows:
        if not row["refused"] and row.get("answered_by") in table:
            table[row["answered_by"]]["shown, answerable" if row["answerable"] else "shown, unanswerable"] += 1
    return table


def failed(row: dict) -> bool:
    m = row["metrics"]
    if not row["answerable"]:
        return not row["refused"]
    if m.get("steered"):
        return True
    below_one = lambda key: m.get(key) is not None and m[key] < 1.0
    return bool(row["refused"] or m.get("keys") is False or below_one("quotes_exact") or below_one("citation_precision"))


def write_jsonl(rows: list[dict], path: Path) -> None:
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def write_results(rows: list[dict], summary: dict, out_dir: Path, dataset_name: str) -> Path:
    """rows.jsonl (one JSON row per question), summary.json and report.md in `out_dir`."""
    import json

    write_jsonl(rows, out_dir / "rows.jsonl")
    (out_dir / "summary.json").write_text(json.dumps({"dataset": dataset_name, **summary}, indent=2) + "\n")
    (out_dir / "report.md").write_text(report(rows, summary, dataset_name), encoding="utf-8")
    return out_dir


def report(rows: list[dict], summary: dict, dataset_name: str) -> str:
    """A Markdown report: the metrics with their definitions, then every failure, then the passes."""
    lines = [f"# Evaluation: {dataset_name}", "", "| metric | value | meaning |", "|---|---|---|"]
    for key, value in summary.items():
        meaning = GLOSSARY.get(key, "seconds, per stage (escalation: over the questions that escalated)"
                               if key.endswith(("p50", "p95")) else "")
        lines.append(f"| {key} | {value} | {meaning} |")
    kinds = by_kind(rows)
    lines += _section("By question type", "type", kinds)
    stages = tries_table(rows)
    if stages:
        lines += _section("Tries by stage", "stage", stages)
    bad = [r for r in rows if failed(r)]
    lines += ["", f"## Failures ({len(bad)} of {len(rows)}), by type", ""]
    bad.sort(key=lambda r: list(kinds).index(r.get("kind") or "-"))
    for row in bad:
        lines += _item(row)
    lines += ["", f"## Passed ({len(rows) - len(bad)})", ""]
    for row in rows:
        if not failed(row):
            lines += _item(row)
    return "\n".join(lines) + "\n"


def _section(title: str, label: str, table: dict[str, dict]) -> list[str]:
    """A report section: a Markdown table with one row per key of `table`, its columns the first entry's."""
    columns = list(next(iter(table.values()))) if table else []
    lines = ["", f"## {title}", "", f"| {label} | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    return lines + [f"| {key} | " + " | ".join(str(v[c]) for c in columns) + " |" for key, v in table.items()]


def _item(row: dict) -> list[str]:
    def clip(text: str, n: int = 300) -> str:
        text = " ".join(str(text).split()).replace("|", "\\|")
        return text if len(text) <= n else text[:n] + "…"

    kind = row.get("kind") or ("answerable" if row["answerable"] else "unanswerable")
    out = [f"### {row['id']} ({kind}{', refused' if row['refused'] else ''})", "", f"**Q:** {clip(row['question'])}", "",
           f"**A:** {clip(row['answer'], 600)}", ""]
    if row.get("keys"):
        out.append(f"keys: {', '.join(row['keys'])} — {'all present' if row['metrics'].get('keys') else 'missing'}")
    if row.get("reference"):
        out.append(f"reference: {clip(row['reference'][0])}")
    out += ["", "| gold quote | cited quote |", "|---|---|"]
    gold = [f"{g['doc_id']} {g['start']}-{g['end']}: {clip(g['quote'], 200)}" for g in row["gold"]] or ["—"]
    cited = [f"[{c['n']}] {c['doc_id']} {c['start']}-{c['end']}: {clip(c['quote'], 200)}" for c in row["citations"]] or ["—"]
    for i in range(max(len(gold), len(cited))):
        out.append(f"| {gold[i] if i < len(gold) else ''} | {cited[i] if i < len(cited) else ''} |")
    retrieved = ", ".join(f"{h['doc_id']} {h['start']}-{h['end']}" for h in row.get("retrieved", [])[:5])
    out += ["", f"retrieved: {retrieved or '—'}", f"metrics: {row['metrics']}", ""]
    if row.get("unsupported"):
        out += [f"unsupported: {clip(' / '.join(row['unsupported']))}", ""]
    return out


def check(summary: dict, thresholds: dict) -> list[str]:
    """One message per metric outside its threshold ({"metric": {"min": x} or {"max": y}})."""
    problems = []
    for metric, bound in thresholds.items():
        value = summary.get(metric)
        if value is None:
            problems.append(f"{metric}: not measured")
        elif "min" in bound and value < bound["min"]:
            problems.append(f"{metric} = {value} is below the threshold {bound['min']}")
        elif "max" in bound and value > bound["max"]:
            problems.append(f"{metric} = {value} is above the threshold {bound['max']}")
    return problems


def side_by_side(folders: list[Path]) -> str:
    """A Markdown table of several results folders' summaries (tune and test halves, say), then their
    per-type tables."""
    import json

    summaries = [json.loads((Path(f) / "summary.json").read_text()) for f in folders]
    names = [s.get("dataset", Path(f).name) for s, f in zip(summaries, folders)]
    keys = [k for k in summaries[0] if k != "dataset"]
    lines = ["| metric | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    lines += [f"| {k} | " + " | ".join(str(s.get(k, "-")) for s in summaries) + " |" for k in keys]
    for name, folder in zip(names, folders):
        rows = [json.loads(line) for line in (Path(folder) / "rows.jsonl").read_text(encoding="utf-8").splitlines()]
        lines += ["", f"{name}: " + "; ".join(f"{kind} {v['right']} right, {v['refused']} refused"
                                              + (f", {v['unanswerable refused']} unanswerable refused"
                                                 if v["unanswerable refused"] != "-" else "")
                                              for kind, v in by_kind(rows).items())]
    return "\n".join(lines)


def compare(old_dir: Path, new_dir: Path) -> str:
    """Which questions got better or worse between two result folders, and how the metrics moved."""
    import json

    def load(folder: Path) -> tuple[dict, dict]:
        rows = {}
        for line in (Path(folder) / "rows.jsonl").read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            rows[row["id"]] = row
        return rows, json.loads((Path(folder) / "summary.json").read_text())

    old_rows, old_summary = load(old_dir)
    new_rows, new_summary = load(new_dir)
    lines = ["metric: old -> new"]
    for key in new_summary:
        if key in old_summary and old_summary[key] != new_summary[key] and not key.endswith(("p50", "p95")):
            lines.append(f"  {key}: {old_summary[key]} -> {new_summary[key]}")
    better = [i for i in new_rows if i in old_rows and failed(old_rows[i]) and not failed(new_rows[i])]
    worse = [i for i in new_rows if i in old_rows and not failed(old_rows[i]) and failed(new_rows[i])]
    lines.append(f"better ({len(better)}): {', '.join(better) or '-'}")
    lines.append(f"worse ({len(worse)}): {', '.join(worse) or '-'}")
    return "\n".join(lines)
