"""Check an answer against the passages it cites: parse [n], split sentences, score support, find quotes."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from rag.chunking import sentence_spans
from rag.types import Citation, Passage, Sentence

_MARKER = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_FOLD = {"’": "'", "‘": "'", "“": '"', "”": '"', "„": '"', "–": "-", "—": "-", "\u00a0": " "}
_STOP = set(
    "a an and are as at be been by did do does for from had has have he her his how i in into is it its of on or "
    "our she so than that the their them then there these they this those to was we were what when where which "
    "who whom why will with would according said says also about after more most not".split()
)
REFUSAL_TOKEN = "NOT_FOUND"


@dataclass(frozen=True)
class SupportPolicy:
    """When a cited passage counts as supporting a sentence (calibrated on the seed dev questions)."""

    min_overlap: float = 0.6  # share of the sentence's content words found in the passage, or
    min_cosine: float = 0.65  # embedding similarity to the passage's best sentence together with
    min_overlap_with_cosine: float = 0.35  # a lower word overlap
    # A passage lacking this many of the question's words that the sentence repeats does not support it.
    max_missing_question_words: int = 2


def parse_markers(text: str, n_passages: int) -> tuple[list[int], list[int]]:
    """(valid, invalid) 1-based passage numbers cited in `text`; valid ones lie in 1..n_passages."""
    numbers = [int(n) for group in _MARKER.findall(text) for n in re.split(r"\s*[,;]\s*", group)]
    valid = [n for n in dict.fromkeys(numbers) if 1 <= n <= n_passages]
    return valid, [n for n in numbers if not 1 <= n <= n_passages]


def strip_markers(text: str) -> str:
    return " ".join(_MARKER.sub("", text).split()).replace(" .", ".").replace(" ,", ",")


def split_answer(answer: str) -> list[str]:
    """Sentences of the answer; a marker written after the full stop stays with its sentence."""
    pieces = [answer[s:e] for s, e, _ in sentence_spans(answer)]
    sentences: list[str] = []
    for piece in pieces:
        lead = re.match(r"(\s*\[[\d,;\s]+\][.;,]?)+", piece)
        if sentences and lead:  # "Rose 18%. [1] Next..." : the marker closes the previous sentence
            sentences[-1] += " " + lead.group().strip()
            piece = piece[lead.end() :]
        if piece.strip():
            sentences.append(piece.strip())
    return [s for s in sentences if strip_markers(s).strip()]


def fold_with_map(text: str) -> tuple[str, list[int]]:
    """Text folded for matching (lower case, plain quotes and dashes, single spaces), and for each
    character of the folded text the offset it came from in `text`."""
    out, where = [], []
    space = False
    for i, ch in enumerate(text):
        ch = _FOLD.get(ch, ch)
        if ch.isspace():
            if not space and out:
                out.append(" ")
                where.append(i)
            space = True
            continue
        space = False
        out.append(ch.lower())
        where.append(i)
    return "".join(out), where


def locate(needle: str, haystack: str) -> tuple[int, int] | None:
    """Offsets of `needle` in `haystack`, typographic quotes and whitespace folded; None if absent."""
    folded_needle, _ = fold_with_map(needle.strip())
    folded, where = fold_with_map(haystack)
    if not folded_needle:
        return None
    i = folded.find(folded_needle)
    if i < 0:
        return None
    return where[i], where[i + len(folded_needle) - 1] + 1


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s", "ly"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def content_words(text: str) -> set[str]:
    folded, _ = fold_with_map(text)
    return {_stem(w) for w in re.findall(r"[a-z0-9][a-z0-9'-]*", folded) if w not in _STOP and len(w) > 1}


def numbers(text: str) -> set[str]:
    return {n.replace(",", "").rstrip(".") for n in re.findall(r"\d[\d,]*(?:\.\d+)?", text)}


def overlap(claim: str, passage: str) -> float:
    words = content_words(claim)
    return len(words & content_words(passage)) / len(words) if words else 0.0


def check_answer(
    answer: str,
    passages: Sequence[Passage],
    encode: Callable[[list[str]], np.ndarray],
    policy: SupportPolicy = SupportPolicy(),
    question: str = "",
) -> tuple[list[Sentence], list[Citation]]:
    """Judge each sentence against the passages it cites (or, uncited or miscited, against the others).

    A sentence is supported when one passage contains every number it states, the words it takes
    from the question (so that one subject's figures are not pinned on another), and enough of its
    words or meaning (see SupportPolicy). Each supported sentence gets one citation whose quote is
    the passage sentence that best supports it, located exactly in the document.
    """
    asked = content_words(question)
    by_n = {p.n: p for p in passages}
    claims = split_answer(answer)
    if not claims:
        return [], []
    passage_sentences = {p.n: [(s, e) for s, e, _ in sentence_spans(p.text)] for p in passages}
    flat = [(p.n, s, e) for p in passages for s, e in passage_sentences[p.n]]
    vectors = encode([strip_markers(c) for c in claims] + [by_n[n].text[s:e] for n, s, e in flat])
    claim_vecs, sent_vecs = vectors[: len(claims)], vectors[len(claims) :]
    sentences: list[Sentence] = []
    citations: dict[tuple[int, int, int], Citation] = {}
    def best_support(ci: int, claim: str, candidates: list[int]):
        best = None  # (score, n, start, end)
        for n in candidates:
            p = by_n[n]
            if not numbers(claim) <= numbers(p.text):
                continue  # a figure the passage does not state is never supported
            passage_words = content_words(p.text)
            if len((content_words(claim) & asked) - passage_words) >= policy.max_missing_question_words:
                continue
            lex_passage = overlap(claim, p.text)
            for k, (pn, s, e) in enumerate(flat):
                if pn != n:
                    continue
                cos = float(claim_vecs[ci] @ sent_vecs[k])
                if not (lex_passage >= policy.min_overlap
                        or (cos >= policy.min_cosine and lex_passage >= policy.min_overlap_with_cosine)):
                    continue
                score = 0.5 * cos + 0.5 * overlap(claim, p.text[s:e])
                if best is None or score > best[0]:
                    best = (score, n, s, e)
        return best

    for ci, claim_text in enumerate(claims):
        claim = strip_markers(claim_text)
        cited, _ = parse_markers(claim_text, len(passages))
        best = best_support(ci, claim, cited) if cited else None
        if best is None:  # uncited, or cited wrongly: the right passage, if any, gets the citation
            best = best_support(ci, claim, [p.n for p in passages if p.n not in cited])
        if best is None:
            sentences.append(Sentence(claim_text, tuple(cited), False, 0.0))
            continue
        score, n, s, e = best
        p = by_n[n]
        span = _quoted_span(claim, p.text) or (s, e)
        start, end = p.start + span[0], p.start + span[1]
        citations.setdefault((n, start, end), Citation(n, p.doc_id, p.title, start, end, p.text[span[0] : span[1]],
                                                       p.start, p.end, p.source, p.date))
        text = claim_text if n in cited else _with_marker(claim, n)
        sentences.append(Sentence(text, (n,) if n not in cited else tuple(cited), True, round(score, 3)))
    return sentences, list(citations.values())


def _with_marker(sentence: str, n: int) -> str:
    """The sentence with its citation [n] placed before the final punctuation."""
    body = sentence.rstrip()
    end = len(body.rstrip(".!?"))
    return f"{body[:end]} [{n}]{body[end:]}"


def _quoted_span(claim: str, passage: str) -> tuple[int, int] | None:
    """Where a phrase the answer puts in quotation marks appears in the passage, if it does."""
    for phrase in re.findall(r"[\"“]([^\"”]{8,})[\"”]", claim):
        found = locate(phrase, passage) if len(phrase.split()) >= 6 else None
        if found:
            return found
    return None


def is_refusal(raw: str) -> bool:
    """The model said the passages hold no answer."""
    text = raw.strip()
    return text.startswith(REFUSAL_TOKEN) or not strip_markers(text.replace(REFUSAL_TOKEN, "")).strip()
