"""HTML for the browser UI: answers with clickable [n] markers, sources with the quote marked, documents.

Pure functions from the project's dataclasses to strings. Every piece of document or answer text
goes through `html.escape` here and nowhere else is text put into markup, so a document that
contains `<script>` shows it as text. Chat messages are kept on one line (newlines become <br>):
the chat component renders Markdown, and a blank line would end the HTML block it leaves alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from html import escape

from rag.citations import strip_markers
from rag.types import Answer, Citation, Document, Hit

_MARKER = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
HIT_COLUMNS = ["rank", "doc_id", "span", "dense", "bm25", "fused", "text"]
DOC_COLUMNS = ["doc_id", "title", "source", "date", "characters", "origin"]
CONTEXT_CHARS = 400  # characters of the document shown around a passage in the sources panel


def text_html(text: str) -> str:
    """Plain text as one line of HTML: escaped, line breaks kept as <br>."""
    return escape(text).replace("\r\n", "\n").replace("\n", "<br>")


def highlight(text: str, spans: Sequence[tuple[int, int]], *, focus: int | None = None) -> str:
    """`text` escaped, with each (start, end) span of it wrapped in <mark>; overlapping spans merge.

    The span at index `focus` (after sorting and merging) gets class "focus" so that it can be
    scrolled into view. Offsets are clamped to the text.
    """
    merged: list[list[int]] = []
    for start, end in sorted((max(0, s), min(len(text), e)) for s, e in spans):
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, at = [], 0
    for i, (start, end) in enumerate(merged):
        cls = ' class="focus"' if i == focus else ""
        out += [escape(text[at:start]), f"<mark{cls}>", escape(text[start:end]), "</mark>"]
        at = end
    out.append(escape(text[at:]))
    return "".join(out)


def _markers_html(escaped: str, turn: int, known: set[int]) -> str:
    """Turn [1] and [1, 2] in already escaped text into links the page's script understands."""

    def link(match: re.Match) -> str:
        numbers = [int(n) for n in re.split(r"\s*[,;]\s*", match.group(1))]
        return "".join(
            f'<a class="cite" href="#cite-{turn}-{n}" title="Show source {n}">[{n}]</a>' if n in known else f"[{n}]"
            for n in numbers
        )

    return _MARKER.sub(link, escaped)


def question_html(question: str) -> str:
    return f'<div class="question">{text_html(question)}</div>'


def answer_html(answer: Answer, turn: int) -> str:
    """A checked answer: its text with clickable markers, and any dropped sentences struck through."""
    if answer.refused:
        return refusal_html(answer)
    known = {c.n for c in answer.citations} | {p.n for p in answer.passages}
    body = _markers_html(text_html(answer.text), turn, known)
    return f'<div class="answer">{body}</div>{unsupported_html(answer.unsupported)}'


def refusal_html(answer: Answer) -> str:
    note = ""
    if answer.unsupported:
        note = unsupported_html(answer.unsupported, label="Draft answer, not supported by the sources")
    return (f'<div class="refusal"><span class="badge badge-refusal">Not in the documents</span>'
            f"<p>{text_html(answer.text)}</p></div>{note}")


def unsupported_html(sentences: Sequence[str], label: str = "Not supported by the sources") -> str:
    """Sentences the checker dropped, struck through under a label, so that nobody takes them as fact."""
    if not sentences:
        return ""
    items = "".join(f"<li><del>{text_html(strip_markers(s))}</del></li>" for s in sentences)
    return (f'<div class="unsupported"><span class="badge badge-warn">{escape(label)}</span>'
            f'<ul>{items}</ul></div>')


def streaming_html(partial: str) -> str:
    """The answer as the model writes it: not yet checked, so shown as a draft."""
    if not partial:
        return '<div class="pending"><span class="spinner"></span>Searching the documents…</div>'
    return (f'<div class="draft">{text_html(partial)}<span class="cursor"></span></div>'
            '<div class="status">Writing, then checking every sentence against the sources…</div>')


def stopped_html(partial: str) -> str:
    text = f'<p class="draft">{text_html(partial)}</p>' if partial.strip() else ""
    return (f'<div class="stopped"><span class="badge badge-muted">Stopped</span>{text}'
            '<p class="status">Stopped before the answer was checked; it is not a checked answer.</p></div>')


def error_html(message: str) -> str:
    return f'<div class="error"><span class="badge badge-error">Could not answer</span><p>{text_html(message)}</p></div>'


# -- sources panel ------------------------------------------------------------------------------


def cited_numbers(answer: Answer) -> list[int]:
    """Passage numbers in the order the answer first cites them; citations without a marker last."""
    order = [int(n) for g in _MARKER.findall(answer.text) for n in re.split(r"\s*[,;]\s*", g)]
    order += [c.n for c in answer.citations]
    available = {c.n for c in answer.citations} | {p.n for p in answer.passages}
    return [n for n in dict.fromkeys(order) if n in available]


def source_card(answer: Answer, n: int, turn: int, document: Document | None, *, selected: bool = False,
                changed: bool = False) -> str:
    """Passage n of an answer: title, source and date, the passage with its quoted spans marked. For a
    document `changed` since the answer, the words quoted then, and a note, instead of the passage."""
    quotes = [c for c in answer.citations if c.n == n]
    passage = next((p for p in answer.passages if p.n == n), None)
    if quotes:
        first = quotes[0]
        doc_id, title, source, date = first.doc_id, first.title, first.source, first.date
        start, end = first.passage_start, first.passage_end
    elif passage is not None:
        doc_id, title, source, date, start, end = (passage.doc_id, passage.title, passage.source, passage.date,
                                                   passage.start, passage.end)
    else:
        return ""
    if document is None:
        body = '<p class="missing">This document is no longer in the index.</p>'
    elif changed:
        said = "".join(f"<blockquote class=\"passage\"><mark>{escape(c.quote)}</mark></blockquote>" for c in quotes)
        body = (f'<p class="missing">This document has changed since this answer was given'
                f'{"; the words quoted then:" if said else "."}</p>{said}')
    else:
        text = document.text[start:end]
        body = (f'<blockquote class="passage">{"… " if start > 0 else ""}'
                f"{highlight(text, [(c.start - start, c.end - start) for c in quotes])}"
                f'{" …" if end < len(document.text) else ""}</blockquote>')
    meta = " · ".join(escape(x) for x in (source, date, doc_id) if x)
    note = "" if quotes else '<p class="status">Cited, but no sentence of the answer was checked against it.</p>'
    link = "" if changed or document is None else \
        f'<a class="open-doc" href="#open-{turn}-{n}">Open the document at this passage</a>'
    cls = "source selected" if selected else "source"
    return (f'<div class="{cls}" id="source-{turn}-{n}"><div class="source-head"><span class="num">[{n}]</span>'
            f'<span class="title">{escape(title or doc_id)}</span></div><div class="meta">{meta}</div>'
            f"{body}{note}{link}</div>")


def sources_html(answer: Answer | None, turn: int, lookup: Callable[[str], Document | None], *,
                 selected: int | None = None, changed: Collection[str] = ()) -> str:
    """The sources panel for one answer; `lookup` fetches a document by id (store.document);
    `changed` names the documents that changed since the answer (a reopened conversation)."""
    if answer is None:
        return ('<div class="sources empty"><h3>Sources</h3><p>Ask a question: the passages the answer is '
                "based on appear here, with the quoted words highlighted. Click a marker such as [1] in an "
                "answer to show its source.</p></div>")
    head = f'<h3>Sources</h3><p class="asked">for “{escape(answer.question)}”</p>'
    if answer.refused:
        near = "".join(
            f'<li><span class="title">{escape(h.title or h.doc_id)}</span> '
            f'<span class="meta">{escape(h.doc_id)} {h.start}–{h.end}</span>'
            f'<div class="snippet">{escape(_snippet(h.text, 220))}</div></li>'
            for h in answer.hits[:3]
        )
        near = f'<p class="status">Closest passages found (none answers the question):</p><ol class="near">{near}</ol>' \
            if near else ""
        return f'<div class="sources">{head}<p>No source supports an answer.</p>{near}</div>'
    cards = [source_card(answer, n, turn, lookup(_doc_id(answer, n)), selected=n == selected,
                         changed=_doc_id(answer, n) in changed)
             for n in cited_numbers(answer)]
    return f'<div class="sources">{head}{"".join(cards)}</div>'


def document_html(document: Document, spans: Sequence[tuple[int, int]], *, label: str = "") -> str:
    """A whole document with the given spans marked; the first one has class "focus"."""
    meta = " · ".join(escape(x) for x in (document.source, document.date, document.doc_id) if x)
    label = f'<span class="badge badge-muted">{escape(label)}</span>' if label else ""
    return (f'<div class="viewer"><div class="viewer-head"><span class="title">{escape(document.title)}</span>'
            f'{label}<a class="close-doc" href="#close-0-0" title="Close the document">Close</a></div>'
            f'<div class="meta">{meta}</div>'
            f'<div class="doc-text">{highlight(document.text, spans, focus=0)}</div></div>')


def citation_spans(answer: Answer, n: int) -> tuple[str, list[tuple[int, int]]]:
    """(doc_id, spans to mark) for passage n: the checked quotes, or the passage when none was checked."""
    quotes: list[Citation] = [c for c in answer.citations if c.n == n]
    if quotes:
        return quotes[0].doc_id, [(c.start, c.end) for c in quotes]
    passage = next((p for p in answer.passages if p.n == n), None)
    return (passage.doc_id, [(passage.start, passage.end)]) if passage else ("", [])


def _doc_id(answer: Answer, n: int) -> str:
    return citation_spans(answer, n)[0]


def _snippet(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# -- tables -------------------------------------------------------------------------------------


def hit_rows(hits: Sequence[Hit]) -> list[list]:
    """The retrieval inspector's rows, one a hit, best first."""
    def score(value: float | None, digits: int) -> str:
        return "" if value is None else f"{value:.{digits}f}"

    return [[rank, h.doc_id, f"{h.start}–{h.end}", score(h.dense_score, 3), score(h.bm25_score, 2),
             score(h.score, 4), _snippet(h.text, 160)] for rank, h in enumerate(hits, 1)]


def query_html(answer: Answer | None) -> str:
    """The standalone query retrieval used, and the answer's timings, for the inspector."""
    if answer is None:
        return '<p class="status">Ask a question to see what retrieval returned.</p>'
    rewritten = " (rewritten from a follow-up)" if answer.query != answer.question else ""
    timings = ", ".join(f"{escape(k)} {v:.2f} s" for k, v in answer.timings.items())
    return (f'<div class="query"><b>Query sent to retrieval{rewritten}:</b> <code>{escape(answer.query)}</code>'
            f'<br><b>Timings:</b> {timings}</div>')


# -- page furniture -----------------------------------------------------------------------------

PLACEHOLDER = (
    "<div class='welcome'><h2>Ask a question about the documents</h2><p>Answers come only from the indexed "
    "documents. Every sentence is checked against the passage it cites; click a marker such as [1] to see the "
    "quoted words. When the documents do not hold the answer, the assistant says so. Ask in any "
    "language: the answer comes in yours, the quotes stay as the documents wrote them.</p></div>"
)


def header_html(title: str, documents: int, passages: int) -> str:
    return (f'<div class="app-header"><div><h1>{escape(title)}</h1><p>Questions answered from your documents, '
            f'with every claim cited and checked.</p></div><div class="counts"><b>{documents:,}</b> documents · '
            f"<b>{passages:,}</b> passages indexed</div></div>")


def document_rows(documents: Sequence[Document], is_upload: Callable[[Document], bool]) -> list[list]:
    return [[d.doc_id, d.title, d.source, d.date, len(d.text), "uploaded" if is_upload(d) else "indexed folder"]
            for d in documents]


def report_text(doc_id: str, report) -> str:
    """One line about an uploaded file's IndexReport."""
    if report.added:
        return f"added as {doc_id} ({report.chunks_embedded} passages)"
    if report.updated:
        return f"updated {doc_id} ({report.chunks_embedded} passages)"
    return f"{doc_id} is already indexed and unchanged"


def upload_log_html(results: Sequence[tuple[str, bool, str]]) -> str:
    """(file name, ok, message) lines after adding or removing documents."""
    items = "".join(
        f'<li class="{"ok" if ok else "failed"}"><span class="mark-icon">{"✓" if ok else "✗"}</span>'
        f'{f"<b>{escape(name)}</b> — " if name else ""}{escape(message)}</li>'
        for name, ok, message in results
    )
    return f'<ul class="upload-log">{items}</ul>' if items else ""


CSS = """
.app-header { display: flex; justify-content: space-between; align-items: flex-end; gap: 1rem;
  padding: .4rem .2rem .8rem; border-bottom: 1px solid var(--border-color-primary); margin-bottom: .4rem; }
.app-header h1 { margin: 0; font-size: 1.55rem; font-weight: 700; letter-spacing: -.01em; }
.app-header p { margin: .2rem 0 0; color: var(--body-text-color-subdued); }
.app-header .counts { color: var(--body-text-color-subdued); font-size: .9rem; white-space: nowrap; }
.welcome { text-align: center; max-width: 34rem; margin: 0 auto; }
.welcome h2 { font-size: 1.2rem; margin-bottom: .4rem; }
.welcome p { color: var(--body-text-color-subdued); font-size: .95rem; }
#chat .question, #chat .answer { line-height: 1.6; }
#chat button.example { border: 1px solid var(--border-color-primary) !important; border-radius: 999px !important;
  background: var(--background-fill-secondary) !important; padding: .45rem 1rem !important; }
#chat button.example:hover { border-color: var(--color-accent) !important; color: var(--color-accent); }
a.cite { display: inline-block; min-width: 1.4em; padding: 0 .3em; margin: 0 .1em; border-radius: .4em;
  background: var(--color-accent-soft); color: var(--color-accent) !important; font-size: .8em; font-weight: 600;
  text-decoration: none !important; text-align: center; vertical-align: super; line-height: 1.5; cursor: pointer; }
a.cite:hover { background: var(--color-accent); color: white !important; }
.badge { display: inline-block; font-size: .72rem; font-weight: 700; letter-spacing: .03em; text-transform: uppercase;
  border-radius: .35rem; padding: .1rem .45rem; margin-right: .5rem; }
.badge-refusal { background: #fef3c7; color: #92400e; }
.badge-warn { background: #fee2e2; color: #991b1b; }
.badge-error { background: #fee2e2; color: #991b1b; }
.badge-muted { background: var(--background-fill-secondary); color: var(--body-text-color-subdued); }
.refusal { border-left: 4px solid #f59e0b; padding: .2rem 0 .2rem .7rem; }
.refusal p { margin: .35rem 0 0; font-style: italic; }
.unsupported { margin-top: .6rem; padding: .4rem .6rem; border: 1px dashed #fca5a5; border-radius: .5rem;
  font-size: .9rem; }
.unsupported ul { margin: .3rem 0 0 1.1rem; padding: 0; }
.unsupported del { color: #b91c1c; text-decoration-thickness: 1.5px; }
.error { border-left: 4px solid #ef4444; padding-left: .7rem; }
.error p { margin: .3rem 0 0; }
.draft { color: var(--body-text-color-subdued); }
.status { color: var(--body-text-color-subdued); font-size: .8rem; margin-top: .35rem; }
.pending { color: var(--body-text-color-subdued); display: flex; align-items: center; gap: .5rem; }
.spinner { width: .9rem; height: .9rem; border: 2px solid var(--border-color-primary);
  border-top-color: var(--color-accent); border-radius: 50%; animation: rag-spin .8s linear infinite; }
.cursor { display: inline-block; width: .5em; height: 1em; margin-left: 2px; vertical-align: text-bottom;
  background: var(--color-accent); animation: rag-blink 1s steps(2) infinite; }
@keyframes rag-spin { to { transform: rotate(360deg); } }
@keyframes rag-blink { 50% { opacity: 0; } }
.stopped .draft { text-decoration: line-through; }
#chat button[aria-label="Clear"] { display: none; }  /* "New chat" clears the conversation and its state */
#ask-row { align-items: stretch; }
#ask-row button { height: 100%; }
#sources .sources { max-height: 62vh; overflow-y: auto; padding-right: .3rem; }
.sources h3 { margin: 0; font-size: 1.05rem; }
.sources .asked { margin: .1rem 0 .7rem; color: var(--body-text-color-subdued); font-size: .88rem; }
.sources.empty p { color: var(--body-text-color-subdued); font-size: .92rem; }
.source { border: 1px solid var(--border-color-primary); border-radius: .7rem; padding: .7rem .85rem;
  margin-bottom: .7rem; background: var(--background-fill-primary); transition: box-shadow .2s, border-color .2s; }
.source.selected { border-color: var(--color-accent); box-shadow: 0 0 0 3px var(--color-accent-soft); }
.source-head { display: flex; gap: .5rem; align-items: baseline; }
.source-head .num { color: var(--color-accent); font-weight: 700; }
.source-head .title { font-weight: 600; }
.meta { color: var(--body-text-color-subdued); font-size: .8rem; margin: .15rem 0 .45rem; }
#sources blockquote.passage { margin: 0 0 .45rem; padding: .45rem .65rem; border-left: 3px solid var(--border-color-primary);
  background: var(--background-fill-secondary); border-radius: 0 .4rem .4rem 0; font-size: .9rem; line-height: 1.55;
  white-space: pre-wrap; }
mark { background: #fde68a; color: inherit; padding: 0 .1em; border-radius: .2em; }
mark.focus { background: #fcd34d; box-shadow: 0 0 0 2px #f59e0b; }
a.open-doc, a.close-doc { font-size: .82rem; color: var(--color-accent); cursor: pointer; }
.near { padding-left: 1.2rem; font-size: .88rem; }
.near .snippet { color: var(--body-text-color-subdued); }
.viewer { border: 1px solid var(--border-color-primary); border-radius: .7rem; padding: .7rem .85rem; margin-top: .5rem; }
.viewer-head { display: flex; align-items: baseline; gap: .5rem; }
.viewer-head .title { font-weight: 600; flex: 1; }
.doc-text { position: relative; max-height: 45vh; overflow-y: auto; white-space: pre-wrap; font-size: .9rem;
  line-height: 1.6; padding-right: .4rem; }
.query { font-size: .9rem; line-height: 1.7; }
.upload-log { list-style: none; padding: 0; margin: .4rem 0; }
.upload-log li { padding: .25rem 0; }
.upload-log .mark-icon { display: inline-block; width: 1.3em; font-weight: 700; }
.upload-log .ok .mark-icon { color: #15803d; }
.upload-log .failed { color: #b91c1c; }
"""
