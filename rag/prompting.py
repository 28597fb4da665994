"""Prompt templates from prompts/, rendered strictly, and the compact passages the model reads."""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np

from rag.chunking import sentence_spans
from rag.config import PROJECT_ROOT
from rag.errors import PromptError
from rag.types import Hit, Passage

PROMPTS_DIR = PROJECT_ROOT / "prompts"

@lru_cache(maxsize=32)
def template(name: str) -> str:
    path = PROMPTS_DIR / f"{name}.txt"
    if not path.is_file():
        raise PromptError(f"prompt template {path} does not exist")
    return path.read_text(encoding="utf-8")


def worked_examples(name: str) -> list[tuple[str, ...]]:
    """The worked examples in prompts/<name>.txt: one per line, its fields separated by "|"."""
    return [tuple(part.strip() for part in line.split("|")) for line in template(name).splitlines()]


def shown_examples(system: str, examples: str) -> list[dict[str, str]]:
    """The chat that opens a small rewriting task: prompts/<system>.txt, then each worked example of
    prompts/<examples>.txt as the user's turn (its first field) and the model's reply (its other
    fields, one per line). The text to rewrite goes after it as the last user turn."""
    messages = [{"role": "system", "content": render(system)}]
    for given, *reply in worked_examples(examples):
        messages += [{"role": "user", "content": given}, {"role": "assistant", "content": "\n".join(reply)}]
    return messages


def render(name: str, **values: object) -> str:
    """Fill prompts/<name>.txt; a placeholder without a value is an error, never a blank."""
    text = template(name)
    fields = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
    missing = sorted(fields - values.keys())
    if missing:
        raise PromptError(f"prompt {name!r} needs {', '.join(missing)}, which were not given")
    return text.format(**{f: values[f] for f in fields}).strip("\n") if fields else text.strip("\n")


def select_passages(
    hits: Sequence[Hit],
    query_vector: np.ndarray,
    encode: Callable[[list[str]], np.ndarray],
    count_tokens: Callable[[str], int],
    *,
    budget: int,
    limit: int,
    sources: dict[str, tuple[str, str]] | None = None,
) -> list[Passage]:
    """From each hit, the contiguous run of sentences most similar to the query, within `budget` tokens.

    Passages are numbered 1..n in retrieval order; their offsets point into the source document.
    """
    passages: list[Passage] = []
    for hit in hits[:limit]:
        spans = [(hit.start + s, hit.start + e) for s, e in _units(hit.text, budget, count_tokens)]
        if not spans:
            continue
        texts = [hit.text[s - hit.start : e - hit.start] for s, e in spans]
        scores = encode(texts) @ query_vector
        sizes = [count_tokens(t) for t in texts]
        lo = hi = int(np.argmax(scores))
        used = sizes[lo]
        while True:  # grow towards the more similar neighbour while the budget allows
            options = [i for i in (lo - 1, hi + 1) if 0 <= i < len(spans) and used + sizes[i] <= budget]
            if not options:
                break
            best = max(options, key=lambda i: scores[i])
            lo, hi = min(lo, best), max(hi, best)
            used += sizes[best]
        start, end = spans[lo][0], spans[hi][1]
        text = hit.text[start - hit.start : end - hit.start]
        if any(p.doc_id == hit.doc_id and p.start < end and start < p.end for p in passages):
            continue  # overlapping chunks yield the same sentences: keep the first
        source, date = (sources or {}).get(hit.doc_id, ("", ""))
        passages.append(Passage(len(passages) + 1, hit.doc_id, hit.title, start, end, text, source, date))
    return passages


def whole_passages(hits: Sequence[Hit], *, limit: int, sources: dict[str, tuple[str, str]] | None = None) -> list[Passage]:
    """Whole chunks as passages, numbered in order; chunks of one document that overlap or touch are
    joined into one passage (they share their overlap sentences)."""
    spans: list[list] = []  # [doc_id, start, end, text, title], text growing as chunks join
    for hit in hits:
        for span in spans:
            if span[0] == hit.doc_id and hit.start <= span[2] and span[1] <= hit.end:
                start, end = min(span[1], hit.start), max(span[2], hit.end)
                head = span[3] if span[1] <= hit.start else hit.text
                tail = hit.text if hit.end >= span[2] else span[3]
                head_start = min(span[1], hit.start)
                tail_start = hit.start if hit.end >= span[2] else span[1]
                span[1:4] = [start, end, head[: tail_start - head_start] + tail]
                break
        else:
            if len(spans) < limit:
                spans.append([hit.doc_id, hit.start, hit.end, hit.text, hit.title])
    return [Passage(n, doc_id, title, start, end, text, *(sources or {}).get(doc_id, ("", "")))
            for n, (doc_id, start, end, text, title) in enumerate(spans, 1)]


def _units(text: str, budget: int, count_tokens: Callable[[str], int]) -> list[tuple[int, int]]:
    """Sentences of `text`; one longer than `budget` tokens is cut into clauses at , ; : or dashes."""
    units = []
    for start, end, _ in sentence_spans(text):
        if count_tokens(text[start:end]) <= budget:
            units.append((start, end))
            continue
        cut = start
        for match in re.finditer(r"[,;:]\s+|\s+[–—-]\s+", text[start:end]):
            units.append((cut, start + match.start() + (1 if match.group()[0] in ",;:" else 0)))
            cut = start + match.end()
        units.append((cut, end))
    return [(s, e) for s, e in units if text[s:e].strip()]


def history_block(previous_question: str) -> str:
    """The line that shows a prompt the conversation's previous question, or nothing."""
    return render("history", question=previous_question) + "\n" if previous_question else ""


def refusal_text(language: str = "en") -> str:
    """What a refusal says, in the question's language where prompts/ has it (refusal_<code>.txt)."""
    return render(f"refusal_{language}") if (PROMPTS_DIR / f"refusal_{language}.txt").is_file() else render("refusal")


def language_block(language: str, asked_in: str | None = None) -> str:
    """The line asking for an answer in `language`; nothing for an English question answered in
    English (the prompts' own language), so English prompts are exactly what they were. Another
    language than the question's (`asked_in`) is named as the passages'. The question's own language,
    if it has a script of its own, is named: told only "the language of the question", the model
    answered most Chinese seed questions in English. One written in Latin letters is not: an English
    question full of French or Italian names is sometimes taken for French or Italian, and must still
    be answered in English."""
    from rag.language import LANGUAGES, OWN_SCRIPT

    asked_in = language if asked_in is None else asked_in
    if language != asked_in:
        return "\n" + render("language_passages", language=LANGUAGES.get(language, language))
    if language == "en":
        return ""
    if language in OWN_SCRIPT:
        return "\n" + render("language", language=LANGUAGES[language])
    return "\n" + render("language_same")


def build_messages(question: str, passages: Sequence[Passage], previous_question: str = "",
                   language: str = "en", asked_in: str | None = None) -> list[dict[str, str]]:
    """System and user messages for the answer prompt, asking for the answer in `language` (a code of
    rag.language.LANGUAGES); `asked_in`, the question's language, when that is another one."""
    listed = "\n".join(
        render("passage", n=p.n, title=", ".join(x for x in (p.title, p.date) if x), text=" ".join(p.text.split()))
        for p in passages
    )
    return [
        {"role": "system", "content": render("answer_system")},
        {"role": "user", "content": render("answer_user", passages=listed, history=history_block(previous_question),
                                           question=question) + language_block(language, asked_in)},
    ]
