"""The UI's rendering (rag/render.py) and set-up helpers (rag/ui.py); the browser test drives the page."""

import re
from html import unescape

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rag.web import render
from rag.errors import RagError
from rag.types import Answer, Citation, Document, Hit, Passage
from rag.web.ui import Turn, chat_messages, load_credentials

HOSTILE = 'Fine print: <script>alert("x")</script> <img src=x onerror=alert(1)> & more.'
DOC = Document(doc_id="notes.txt", title="Notes <b>2024</b>", text="Intro line.\n\n" + HOSTILE + " The vault code is 4417.",
               source="Ops & Security", date="2024-05")
QUOTE_START = DOC.text.index("The vault code")
CITATION = Citation(n=1, doc_id="notes.txt", title=DOC.title, start=QUOTE_START, end=len(DOC.text),
                    quote="The vault code is 4417.", passage_start=13, passage_end=len(DOC.text), source=DOC.source,
                    date=DOC.date)
PASSAGES = (Passage(1, "notes.txt", DOC.title, 13, len(DOC.text), DOC.text[13:]),
            Passage(2, "notes.txt", DOC.title, 0, 11, DOC.text[:11]))
ANSWER = Answer(question="What is the <vault> code?", text="The vault code is 4417 [1]. See also [2, 7].", refused=False,
                citations=(CITATION,), unsupported=("It was <i>changed</i> in 2023 [1].",), passages=PASSAGES,
                query="What is the <vault> code?")


def lookup(doc_id):
    return DOC if doc_id == DOC.doc_id else None


def unmarked(html: str) -> str:
    return unescape(re.sub(r"</?mark[^>]*>", "", html))


@given(st.text(max_size=60), st.integers(-5, 70), st.integers(-5, 70))
def test_highlight_marks_exactly_the_span_and_keeps_the_text(text, a, b):
    start, end = min(a, b), max(a, b)
    html = render.highlight(text, [(start, end)])
    assert unmarked(html) == text
    marked = re.findall(r"<mark>(.*?)</mark>", html, re.S)
    inside = text[max(0, start) : max(0, min(len(text), end))]
    assert [unescape(m) for m in marked] == ([inside] if inside else [])
    assert "<" not in re.sub(r"</?mark>", "", html)


def test_highlight_merges_overlaps_and_marks_the_focus():
    html = render.highlight("abcdefghij", [(6, 8), (1, 3), (2, 5)], focus=0)
    assert html == 'a<mark class="focus">bcde</mark>f<mark>gh</mark>ij'


def test_answer_text_is_escaped_and_markers_become_links():
    html = render.answer_html(ANSWER, turn=3)
    assert "<vault>" not in html and "<i>" not in html
    assert '<a class="cite" href="#cite-3-1" title="Show source 1">[1]</a>' in html
    assert 'href="#cite-3-2"' in html and "[7]" in html and "#cite-3-7" not in html  # no passage 7: plain text
    assert '<div class="unsupported"><span class="badge badge-warn">Not supported by the sources</span>' in html
    assert "<li><del>It was &lt;i&gt;changed&lt;/i&gt; in 2023.</del></li>" in html
    assert "\n" not in html


def test_refusal_is_styled_as_not_in_the_documents():
    refusal = Answer(question="q", text="The documents do not contain an answer <here>.", refused=True,
                     unsupported=("Made up [1].",))
    html = render.answer_html(refusal, 0)
    assert html.startswith('<div class="refusal"><span class="badge badge-refusal">Not in the documents</span>')
    assert "&lt;here&gt;" in html and "Draft answer, not supported by the sources" in html and "<del>Made up.</del>" in html


def test_streaming_stopped_and_error_messages_are_escaped_drafts():
    assert "Searching the documents" in render.streaming_html("")
    assert render.streaming_html("a <b>\n\nc").startswith('<div class="draft">a &lt;b&gt;<br><br>c<span class="cursor">')
    assert "not a checked answer" in render.stopped_html("half <b>") and "half &lt;b&gt;" in render.stopped_html("half <b>")
    assert "&lt;script&gt;" in render.error_html("<script>")


def test_source_card_shows_the_passage_with_the_quote_marked_and_escaped():
    html = render.sources_html(ANSWER, 3, lookup, selected=1)
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "<mark>The vault code is 4417.</mark>" in html
    assert '<div class="source selected" id="source-3-1">' in html and 'id="source-3-2"' in html
    assert "Ops &amp; Security · 2024-05 · notes.txt" in html
    assert '<a class="open-doc" href="#open-3-1">' in html
    assert "Cited, but no sentence of the answer was checked against it." in html  # passage 2 has no quote
    assert "for “What is the &lt;vault&gt; code?”" in html
    # The card's passage is exactly the cited span of the document.
    card = re.search(r'id="source-3-1">.*?<blockquote class="passage">(.*?)</blockquote>', html, re.S).group(1)
    assert unmarked(card) == "… " + DOC.text[13:]


def test_sources_for_a_refusal_list_the_closest_passages():
    hit = Hit(chunk_id=1, doc_id="notes.txt", start=0, end=11, text="<b>near</b>", score=0.1, title="Notes")
    html = render.sources_html(Answer(question="q", text="no", refused=True, hits=(hit,)), 0, lookup)
    assert "No source supports an answer." in html and "&lt;b&gt;near&lt;/b&gt;" in html


def test_document_viewer_escapes_and_marks_the_focus():
    html = render.document_html(DOC, [(CITATION.start, CITATION.end)], label="source [1]")
    assert "<script" not in html and "&lt;script&gt;" in html and "Notes &lt;b&gt;2024&lt;/b&gt;" in html
    assert '<mark class="focus">The vault code is 4417.</mark>' in html
    text = re.search(r'<div class="doc-text">(.*)</div></div>$', html, re.S).group(1)
    assert unmarked(text) == DOC.text


def test_inspector_rows_and_query():
    hits = (Hit(1, "a.txt", 0, 50, "x " * 200, 0.0325, dense_score=0.61234, bm25_score=None),)
    (row,) = render.hit_rows(hits)
    assert row[:6] == [1, "a.txt", "0–50", "0.612", "", "0.0325"] and len(row[6]) <= 160 and row[6].endswith("…")
    assert "<code>What is the &lt;vault&gt; code?</code>" in render.query_html(ANSWER)


def test_chat_messages_pair_each_question_with_its_state():
    turns = [Turn("q <1>", answer=ANSWER), Turn("q2", error="the question is empty"), Turn("q3", partial="Half"),
             Turn("q4", partial="Half", stopped=True)]
    messages = chat_messages(turns)
    assert [m["role"] for m in messages] == ["user", "assistant"] * 4
    assert messages[0]["content"] == '<div class="question">q &lt;1&gt;</div>'
    assert 'href="#cite-0-1"' in messages[1]["content"] and "Could not answer" in messages[3]["content"]
    assert "cursor" in messages[5]["content"] and "Stopped" in messages[7]["content"]
    assert all("\n" not in m["content"] for m in messages)  # one line: Markdown never sees a blank line


def test_real_answer_renders_its_checked_quote(make_assistant):
    assistant = make_assistant("An adult blue whale can weigh up to 150 tonnes [1].")
    answer = assistant.ask("How much can a blue whale weigh?")
    html = render.sources_html(answer, 0, assistant.store.document)
    (c,) = answer.citations
    assert f"<mark>{c.quote}</mark>" in html and "whales.txt" in html


def test_credentials_come_from_a_file_or_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("RAG_AUTH", raising=False)
    assert load_credentials() is None
    monkeypatch.setenv("RAG_AUTH", "staff:pa:ss")
    assert load_credentials() == [("staff", "pa:ss")]
    path = tmp_path / "logins"
    path.write_text("# staff logins\nana:one\n\nbo : two\n", encoding="utf-8")
    assert load_credentials(path) == [("ana", "one"), ("bo", " two")]
    path.write_text("ana\n", encoding="utf-8")
    with pytest.raises(RagError, match=r"logins, line 1: expected user:password$"):
        load_credentials(path)
    monkeypatch.setenv("RAG_AUTH", "# nothing")
    with pytest.raises(RagError, match=r"^RAG_AUTH holds no user:password line$"):
        load_credentials()


def test_serve_indexes_an_empty_index_then_runs_the_app(tmp_path, toy_corpus, embedder, monkeypatch, capsys):
    import uvicorn
    from conftest import ScriptedGenerator

    from rag.config import Config
    from rag.pipeline import Assistant
    from rag.store import Store
    from rag.web.ui import serve

    config = Config(index_dir=tmp_path / "idx" / "main", corpus_dir=toy_corpus, chunk_tokens=40, chunk_overlap=10)
    store = Store(config.index_dir, embedder=embedder.name, dim=embedder.dim)
    ran = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: ran.update(app=app, **kw))
    monkeypatch.delenv("RAG_AUTH", raising=False)
    serve(config, port=7999, assistant=Assistant(config, store, embedder, ScriptedGenerator()))
    assert store.count()[0] == 6 and ran["host"] == "127.0.0.1" and ran["port"] == 7999
    out = capsys.readouterr()
    assert "http://127.0.0.1:7999" in out.out and f"indexing {toy_corpus}" in out.err and "warning" not in out.err
    serve(config, host="0.0.0.0", port=7999, assistant=Assistant(config, store, embedder, ScriptedGenerator()))
    assert "warning: serving on 0.0.0.0 without a login" in capsys.readouterr().err
