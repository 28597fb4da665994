"""Pure scoring functions for evaluation: no model, no judge, deterministic."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from rag.citations import fold_with_map
from rag.evals.datasets import Evidence
from rag.verification import asks_choice, candidates

def fold(text: str) -> str:
    """Lower case, typographic quotes and dashes made plain, whitespace collapsed (as quotes are matched)."""
    return fold_with_map(text)[0].strip()


def covers(span: tuple[str, int, int], evidence: Evidence) -> bool:
    """A retrieved (doc_id, start, end) span contains the whole gold span."""
    doc_id, start, end = span
    return doc_id == evidence.doc_id and start <= evidence.start and end >= evidence.end


def overlaps(span: tuple[str, int, int], evidence: Evidence) -> bool:
    doc_id, start, end = span
    return doc_id == evidence.doc_id and start < evidence.end and evidence.start < end


def evidence_recall(spans: Sequence[tuple[str, int, int]], evidence: Sequence[Evidence], k: int) -> float:
    """Share of the gold spans covered by one of the first k retrieved spans."""
    if not evidence:
        return 0.0
    top = spans[:k]
    return sum(any(covers(s, e) for s in top) for e in evidence) / len(evidence)


def reciprocal_rank(spans: Sequence[tuple[str, int, int]], evidence: Sequence[Evidence], k: int = 10) -> float:
    """1 / rank of the first retrieved span that covers any gold span (0 past k)."""
    for rank, span in enumerate(spans[:k], 1):
        if any(covers(span, e) for e in evidence):
            return 1.0 / rank
    return 0.0


def keys_present(answer: str, keys: Sequence[str]) -> bool:
    """Every key appears in the answer (folded); a key "a|b" is satisfied by either."""
    text = fold(answer)
    return all(any(fold(alt) in text for alt in key.split("|")) for key in keys)


YES_NO = ("yes", "no")


def first_word(answer: str) -> str:
    """The answer's first word, folded ("Yes, the report..." -> "yes")."""
    words = re.findall(r"\w+", fold(answer))
    return words[0] if words else ""


def answer_correct(answer: str, keys: Sequence[str], question: str = "") -> bool:
    """Every key is in the answer; a key "yes" or "no" must be the answer's first word instead, and
    the answer to a choice between two named things must name the keyed one first."""
    yes_no = [k for k in keys if k.lower() in YES_NO]
    return all(first_word(answer) == k.lower() for k in yes_no) and keys_present(
        answer, [k for k in keys if k.lower() not in YES_NO]) and not names_other_first(answer, keys, question)


def names_other_first(answer: str, keys: Sequence[str], question: str) -> bool:
    """Whether an answer to a choice question ("Who was born first, A or B?") names the side the
    keys do not name before the side they do: its pick is what it names first, as a yes/no answer's
    is its first word. Without this, "Ava DuVernay. Am Rong was born in 1929 ..." counts as choosing
    Am Rong. False when the question offers no choice or the keys name neither side (or both)."""
    if not question or not asks_choice(question):
        return False
    words = re.findall(r"\w+", fold(answer))
    key_words = set(re.findall(r"\w+", fold(" ".join(keys))))
    sides = [set(re.findall(r"\w+", fold(" ".join(side)))) for side in candidates(question)]
    named = [len(side & key_words) for side in sides]
    if not all(sides) or named[0] == named[1]:
        return False
    keyed, other = (sides[0], sides[1]) if named[0] > named[1] else (sides[1], sides[0])
    first = lambda side: next((i for i, w in enumerate(words) if w in side), len(words))  # noqa: E731
    return first(other) < first(keyed)


def _tokens(text: str) -> list[str]:
    text = re.sub(r"\[\d+\]", " ", fold(text))
    words = re.findall(r"\w+", text)
    return [w for w in words if w not in ("a", "an", "the")]


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD-style bag-of-tokens F1 (articles and citation markers dropped)."""
    pred, ref = _tokens(prediction), _tokens(reference)
    common = sum((Counter(pred) & Counter(ref)).values())
    if not pred or not ref or not common:
        return float(pred == ref)
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def rouge_l(prediction: str, reference: str) -> float:
    """Rouge-L F-measure over tokens (longest common subsequence)."""
    pred, ref = _tokens(prediction), _tokens(reference)
    if not pred or not ref:
        return 0.0
    prev = [0] * (len(ref) + 1)
    for p in pred:
        row = [0]
        for j, r in enumerate(ref):
            row.append(prev[j] + 1 if p == r else max(prev[j + 1], row[j]))
        prev = row
    lcs = prev[-1]
    if not lcs:
        return 0.0
    precision, recall = lcs / len(pred), lcs / len(ref)
    return 2 * precision * recall / (precision + recall)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)
