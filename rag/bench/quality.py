"""Answer quality and time beside a naive RAG, on the same index, model and questions, in one run.

rag bench quality [--dataset hotpotqa] [--split test] [--limit N] [--json PATH]

The naive RAG (rag/evals/naive.py) puts the top 4 whole chunks in one plain prompt and checks
nothing; the assistant verifies every sentence and escalates before refusing. Accuracy is the share
of answerable questions whose reply holds the gold answer (yes/no: its first word), per question type.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rag.config import Config

COLUMNS = ["system", "kind", "questions", "accuracy", "refused", "unanswerable_refused", "citation_precision",
           "total_p50_s", "total_p95_s"]


def rows_by_kind(name: str, rows: list[dict]) -> list[dict]:
    from rag.evals.metrics import percentile

    out = []
    kinds = list(dict.fromkeys(r["kind"] for r in rows))
    for kind in [*kinds, "all"] if len(kinds) > 1 else kinds:
        group = [r for r in rows if kind in ("all", r["kind"])]
        answerable = [r for r in group if r["answerable"]]
        unanswerable = [r for r in group if not r["answerable"]]
        scored = [r for r in answerable if r["metrics"]["keys"] is not None]
        precisions = [r["metrics"]["citation_precision"] for r in answerable
                      if r["metrics"].get("citation_precision") is not None]
        totals = [r["timings"].get("total", 0.0) for r in group]
        out.append({
            "system": name, "kind": kind, "questions": len(group),
            "accuracy": round(sum(bool(r["metrics"]["keys"]) for r in scored) / len(scored), 3) if scored else "-",
            "refused": round(sum(r["refused"] for r in answerable) / len(answerable), 3) if answerable else "-",
            "unanswerable_refused": (round(sum(r["refused"] for r in unanswerable) / len(unanswerable), 3)
                                     if unanswerable else "-"),
            "citation_precision": round(sum(precisions) / len(precisions), 3) if precisions else "-",
            "total_p50_s": round(percentile(totals, 50), 2), "total_p95_s": round(percentile(totals, 95), 2),
        })
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rag bench quality", description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="hotpotqa", help="eval set (default hotpotqa)")
    parser.add_argument("--split", choices=["tune", "test"], help="only one half of the set")
    parser.add_argument("--limit", type=int, help="a fixed random sample of N questions")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the sample")
    parser.add_argument("--out", type=Path, help="folder for each system's rows and summary")
    parser.add_argument("--json", type=Path, help="write the table as JSON")
    args = parser.parse_args(argv)

    from tqdm import tqdm

    from rag.bench.search import format_rows
    from rag.embedding import load_embedder
    from rag.evals.datasets import load_dataset
    from rag.evals.evaluation import eval_index, run_eval, write_results
    from rag.evals.naive import NaiveRAG
    from rag.generation import make_generator
    from rag.pipeline import Assistant

    config = Config()
    dataset = load_dataset(args.dataset, args.split).sample(args.limit, args.seed)
    embedder = load_embedder(config.embedder)
    store = eval_index(dataset, config, embedder)
    generator = make_generator(config.backend, config.model, url=config.llm_url)
    table = []
    for name, system in (("naive RAG", NaiveRAG), ("assistant", Assistant)):
        with tqdm(total=len(dataset.items), desc=name, unit="question", file=sys.stderr) as bar:
            rows, summary = run_eval(dataset, system(config, store, embedder, generator),
                                     on_item=lambda i, row: bar.update(1))
        if args.out:
            write_results(rows, summary, args.out / name.replace(" ", "-"), dataset.name)
        table += rows_by_kind(name, rows)
    print(f"Quality: {dataset.name}, {len(dataset.items)} questions, {config.model} on {config.backend}")
    print(format_rows(table, COLUMNS))
    if args.json:
        args.json.write_text(json.dumps(table, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
