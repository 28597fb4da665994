"""Labelled (question, reply) pairs for the answer judge, taken from eval results, to compare judges.

A pair is right when the reply answers its question. They come from results folders that `rag eval`
wrote: every answer the verifier checked for relevance, labelled by the gold keys (or, for ClapNQ,
rougeL ≥ 0.2), wrong when the question is unanswerable or a planted payload shows. Each right pair is
also put to its question changed the way a wrong answer differs (another year, number, name or unit),
which the same reply no longer answers. Claim-set rows (`rag eval claims`) add claims put to another
question.

    python -m rag.evals.answer_pairs --tune DIR... --held DIR...

prints each judge's ranking AUC, the threshold that keeps the most right pairs net of wrong ones on
the tune pairs, and what that threshold does on the held-out pairs.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Callable
from pathlib import Path

from rag.citations import strip_markers
from rag.evals.claims import _NAME, perturb


def pairs_from(folder: Path) -> list[dict]:
    """Pairs from one results folder: rows.jsonl of `rag eval`, or tune/test.jsonl of `rag eval claims`."""
    if not (folder / "rows.jsonl").is_file():
        return [{"id": r["id"], "question": r["question"], "reply": r["claim"], "right": r["answers"]}
                for name in ("tune.jsonl", "test.jsonl") if (folder / name).is_file()
                for r in map(json.loads, (folder / name).read_text().splitlines())
                if r["kind"] in ("true", "other question")]
    out = []
    for row in map(json.loads, (folder / "rows.jsonl").read_text().splitlines()):
        if row.get("relevance") is None:
            continue
        reply = " ".join(strip_markers(s["text"]) for s in row["sentences"] if s["supported"])
        metrics, keys = row["metrics"], row["keys"]
        if not row["answerable"] or metrics.get("steered"):
            right = False
        elif metrics.get("keys") or (metrics.get("rougeL") or 0) >= 0.2 or _holds(reply, keys):
            right = True
        else:
            continue  # answerable and wrong: neither label is sure
        out.append({"id": row["id"], "question": row["question"], "reply": reply, "right": right})
    return out


def _holds(reply: str, keys: list[str]) -> bool:
    """A refused reply that holds every key (a yes/no key counts only by the metric, as a first word)."""
    text = reply.lower()
    return bool(keys) and keys[0].lower() not in ("yes", "no") and all(
        any(option.lower() in text for option in key.split("|")) for key in keys)


def changed_questions(pairs: list[dict], seed: int = 0) -> list[dict]:
    """Each right pair's question changed in year, number, name or unit: the reply no longer answers."""
    rng = random.Random(seed)
    names = sorted({m.group() for p in pairs for m in _NAME.finditer(p["question"])})
    out = []
    for p in pairs:
        if p["right"]:
            for kind, question in perturb(p["question"], p["reply"], rng, names).items():
                if kind != "negation":
                    out.append({**p, "id": f"{p['id']}:{kind}", "question": question, "right": False})
    return out


def auc(scores: list[float], labels: list[bool]) -> float:
    pos = [s for s, y in zip(scores, labels) if y]
    neg = [s for s, y in zip(scores, labels) if not y]
    if not pos or not neg:
        return float("nan")
    return sum((p > n) + 0.5 * (p == n) for p in pos for n in neg) / (len(pos) * len(neg))


def best_threshold(scores: list[float], labels: list[bool]) -> float:
    """The threshold keeping the largest share of right pairs net of the share of wrong ones."""
    right, wrong = max(1, sum(labels)), max(1, len(labels) - sum(labels))

    def net(t: float) -> float:
        return sum(s >= t and y for s, y in zip(scores, labels)) / right - \
            sum(s >= t and not y for s, y in zip(scores, labels)) / wrong

    return max(sorted(set(scores)), key=net)


def compare(tune: list[dict], held: list[dict], judges: dict[str, Callable[[str, str], float]]) -> list[dict]:
    """One row per judge: AUC on both, the tune-chosen threshold and what it keeps on both."""
    table = []
    for name, judge in judges.items():
        row = {"judge": name}
        scored = {}
        for split, pairs in (("tune", tune), ("held", held)):
            scored[split] = ([judge(p["question"], p["reply"]) for p in pairs], [p["right"] for p in pairs])
            row[f"AUC {split}"] = round(auc(*scored[split]), 3)
        threshold = best_threshold(*scored["tune"])
        row["threshold"] = round(threshold, 3)
        for split, (scores, labels) in scored.items():
            kept = sum(s >= threshold and y for s, y in zip(scores, labels))
            let = sum(s >= threshold and not y for s, y in zip(scores, labels))
            row[f"{split}: right kept"] = f"{kept}/{sum(labels)}"
            row[f"{split}: wrong let through"] = f"{let}/{len(labels) - sum(labels)}"
        table.append(row)
    return table


def main(argv: list[str] | None = None) -> int:
    from rag.config import Config
    from rag.evals.evaluation import format_table
    from rag.generation import make_generator, yes_share
    from rag.prompting import render
    from rag.verification import Verifier

    parser = argparse.ArgumentParser(prog="python -m rag.evals.answer_pairs", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tune", nargs="+", type=Path, required=True, help="results folders of tune sets")
    parser.add_argument("--held", nargs="+", type=Path, required=True, help="results folders of held-out sets")
    args = parser.parse_args(argv)
    config = Config()
    verifier = Verifier(make_generator(config.backend, config.model, url=config.llm_url).first_token_probabilities)

    def yes_no(question: str, reply: str) -> float:
        return yes_share(verifier.probabilities([
            {"role": "system", "content": render("answers_system")},
            {"role": "user", "content": render("answers_user", history="", question=question, answer=reply)}]))

    splits = []
    for folders in (args.tune, args.held):
        pairs = [p for f in folders for p in pairs_from(f)]
        splits.append(pairs + changed_questions(pairs))
    print(format_table(compare(*splits, {"yes/no": yes_no, "in use (yes/no and extraction)": verifier.answer_score})))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
