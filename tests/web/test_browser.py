"""The UI in a real headless browser (Debian's chromium driven by Playwright), end to end.

Fast by default: the fake embedder and a scripted generator that streams slowly enough to be seen,
over the toy corpus. With RAG_BROWSER_REAL=1 the real embedder and model answer over a fresh index
of ../shared/corpus instead. Screenshots and the measured timings go to tests/artifacts/.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from test_api import running

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).parent.parent / "artifacts"
REAL = os.environ.get("RAG_BROWSER_REAL") == "1"
TIMEOUT_MS = 240_000 if REAL else 20_000

WHALE_Q = "How much can a blue whale weigh?"
WHALE_A = "An adult blue whale can weigh up to 150 tonnes [1]. Blue whales live for 300 years [1]."
WHALE_QUOTE = "An adult can weigh up to 150 tonnes."
UNKNOWN_Q = "Who painted the Mona Lisa?"
CORPUS_Q = "How much did China spend on research and development?"  # asked of the real corpus
LIGHTHOUSE = (
    "The Harbour Lighthouse\n\n"
    "The Harbour Lighthouse was built in 1887 by the port authority. Its lamp can be seen from 30 kilometres "
    "away at sea.\n\n"
    "A note left in the file: <script>window.__pwned = 1</script> <img src=x onerror=\"window.__pwned = 2\"> "
    "${window.__pwned = 3} {{value}}\n"
)
LIGHTHOUSE_Q = "How far away can the Harbour Lighthouse lamp be seen?"
LIGHTHOUSE_A = "The lamp of the Harbour Lighthouse can be seen from 30 kilometres away [1]."
LIGHTHOUSE_QUOTE = "Its lamp can be seen from 30 kilometres away at sea."
# Uploads of other formats: file name -> (question, quote the answer must cite, scripted reply).
FORMATS_BY_FILE = {
    "offices.xlsx": ("What is the head count of the Harbour office?", "Office: Harbour office; Head count: 42",
                     "The Harbour office has a head count of 42 [1]."),
    "badges.pptx": ("Where are staff badges issued?", "Staff badges are issued at the front desk.",
                    "Staff badges are issued at the front desk [1]."),
    "archive.pdf": ("When does the archive open?", "The archive opens at nine on Mondays.",
                    "The archive opens at nine on Mondays [1]."),
}
FORMATS = {question: (name, quote, reply) for name, (question, quote, reply) in FORMATS_BY_FILE.items()}
BONUS_Q = "How big is the bonus pool this year?"
BONUS_A = "The bonus pool this year is the one stated [1]."
BONUS = {"hr": "The hr bonus pool this year is 7 percent of salaries.",
         "sales": "The sales bonus pool this year is 3 percent of revenue."}

# Records, in the page, when the send button is pressed, when streamed text first shows and when the
# checked answer (or a refusal or an error) replaces it.
TIMER_JS = """
() => {
  const chat = document.querySelector('#chat');
  const done = () => chat.querySelectorAll('.answer, .refusal, .error').length;
  const before = done();
  const t = window.__timing = {};
  document.querySelector('#send').addEventListener('click', () => { t.start = performance.now(); },
                                                   {capture: true, once: true});
  const observer = new MutationObserver(() => {
    if (t.start === undefined) return;
    if (t.first_token_ms === undefined && chat.querySelector('.draft'))
      t.first_token_ms = performance.now() - t.start;
    if (done() > before) { t.answer_ms = performance.now() - t.start; observer.disconnect(); }
  });
  observer.observe(chat, {subtree: true, childList: true, characterData: true});
}
"""


@pytest.fixture
def site(tmp_path):
    """(base URL, config) of a running server: fakes over the toy corpus, or the real models."""
    from rag.web.ui import create_app

    if REAL:
        from rag.config import Config
        from rag.indexing import index_path
        from rag.pipeline import load_assistant

        config = Config(index_dir=tmp_path / "index" / "main")
        assistant = load_assistant(config, create=True)
        index_path(config.corpus_dir, assistant.store, assistant.embedder, config)
        assistant.generator.load()  # as serve does: the first question should not pay for loading the model
        examples = None
    else:
        assistant, config = _fake_assistant(tmp_path)
        examples = [WHALE_Q, "When does the city library open?"]
    with running(create_app(assistant, config, examples=examples)) as url:
        yield url, config


def _fake_assistant(tmp_path):
    import dataclasses

    from conftest import TOY, FakeEmbedder, ScriptedGenerator
    from rag.config import Config
    from rag.indexing import index_path
    from rag.pipeline import Assistant
    from rag.store import Store

    class SlowScripted(ScriptedGenerator):
        """Replies by topic (questions may come in any order), slowly enough to see the answer grow."""

        def stream(self, messages, *, max_tokens=256):
            question = messages[-1]["content"].rpartition("Question:")[2]
            self.replies = [LIGHTHOUSE_A if "Lighthouse" in question else "NOT_FOUND" if "Mona" in question
                            else BONUS_A if "bonus" in question else FORMATS.get(question.strip(), (0, 0, WHALE_A))[2]]
            for piece in super().stream(messages, max_tokens=max_tokens):
                time.sleep(0.06)
                yield piece

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in TOY.items():
        (corpus / name).write_text(text, encoding="utf-8")
    config = Config(index_dir=tmp_path / "index" / "main", corpus_dir=corpus, chunk_tokens=40, chunk_overlap=10,
                    min_dense_score=0.0)
    if any(f.name == "judge" for f in dataclasses.fields(Config)):
        config = dataclasses.replace(config, judge=False)  # the scripted model cannot judge claims
    embedder = FakeEmbedder()
    store = Store(config.index_dir, embedder=embedder.name, dim=embedder.dim)
    index_path(corpus, store, embedder, config)
    return Assistant(config, store, embedder, SlowScripted()), config


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{'real-' if REAL else ''}{name}.png"), full_page=True)


def ask(page, question: str, *, screenshot: str | None = None) -> dict:
    """Type a question, press Ask, wait for the checked answer; returns the timings measured in the page."""
    page.evaluate(TIMER_JS)
    page.fill("#question textarea", question)
    page.click("#send")
    if screenshot:
        page.wait_for_selector("#chat .draft", timeout=TIMEOUT_MS)
        shot(page, screenshot)
    page.wait_for_function("window.__timing.answer_ms !== undefined", timeout=TIMEOUT_MS)
    timing = page.evaluate("window.__timing")
    return {"question": question, "first_token_ms": round(timing.get("first_token_ms") or 0),
            "answer_ms": round(timing["answer_ms"])}


def test_chat_sources_upload_and_feedback(site, browser):
    from rag.web import feedback

    url, config = site
    page = browser.new_page(viewport={"width": 1440, "height": 960})
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url)
    page.wait_for_selector("#chat", timeout=30_000)
    page.wait_for_selector("#header .counts")
    shot(page, "browser-01-empty")

    # Ask: the answer streams, then the checked answer with a [1] marker replaces it.
    timings = [ask(page, CORPUS_Q if REAL else WHALE_Q, screenshot="browser-02-streaming")]
    assert timings[0]["first_token_ms"] > 0, "no streamed text was seen before the answer"
    first = page.locator("#chat .answer, #chat .refusal, #chat .error").first
    assert first.locator("a.cite").count(), f"no cited answer: {first.inner_text()}"
    if not REAL:
        assert page.inner_text("#chat .answer").startswith("An adult blue whale can weigh up to 150 tonnes")
        assert page.inner_text("#chat .unsupported del") == "Blue whales live for 300 years."
    shot(page, "browser-03-answer")

    # Click [1]: its source is selected, with the quoted words highlighted.
    page.click("#chat .answer a.cite")
    page.wait_for_selector("#sources .source.selected mark", timeout=10_000)
    quote = page.inner_text("#sources .source.selected mark")
    if not REAL:
        assert quote == WHALE_QUOTE
    assert quote.strip() and quote.split()[0] in page.inner_text("#sources .source.selected blockquote")
    shot(page, "browser-04-source")

    # Open the whole document at that passage.
    page.click("#sources .source.selected a.open-doc")
    page.wait_for_selector("#viewer mark.focus", timeout=10_000)
    assert page.inner_text("#viewer mark.focus") == quote
    shot(page, "browser-05-document")

    # Thumbs down with a comment lands in feedback.sqlite.
    page.click("#chat button[aria-label='Dislike']")
    page.wait_for_selector("#comment-box textarea", timeout=10_000)
    page.fill("#comment-box textarea", "Too short.")
    page.click("#comment-send")
    page.wait_for_selector("#comment-box", state="hidden", timeout=10_000)
    (row,) = feedback.rows(feedback.feedback_path(config))
    assert row["rating"] == feedback.DOWN and row["comment"] == "Too short." and row["citations"]
    assert row["question"] == (CORPUS_Q if REAL else WHALE_Q)

    # The retrieval inspector lists the hits and the query.
    page.click("#inspector button.label-wrap")
    page.wait_for_function("(document.querySelector('#hits')?.innerText || '').includes('.txt')", timeout=10_000)
    assert (CORPUS_Q if REAL else WHALE_Q) in page.inner_text("#query")
    shot(page, "browser-06-inspector")

    # Upload two files from the Documents tab: the broken one fails with its reason, the other is indexed.
    folder = Path(config.index_dir).parent / "to-upload"
    folder.mkdir()
    (folder / "lighthouse.txt").write_text(LIGHTHOUSE, encoding="utf-8")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 this is not a PDF")
    page.click("button[role='tab']:has-text('Documents')")
    page.set_input_files("#upload input[type='file']", [str(folder / "broken.pdf"), str(folder / "lighthouse.txt")])
    page.wait_for_function("['broken', 'lighthouse'].every("
                           "n => (document.querySelector('#upload')?.innerText || '').includes(n))", timeout=10_000)
    page.click("#add-docs")
    page.wait_for_selector("#upload-log li.ok", timeout=TIMEOUT_MS)
    assert "lighthouse.txt — added as lighthouse.txt" in page.inner_text("#upload-log li.ok")
    assert page.inner_text("#upload-log li.failed").startswith("✗broken.pdf — could not be read: corrupt PDF")
    page.wait_for_function("(document.querySelector('#doc-table')?.innerText || '').includes('lighthouse.txt')",
                           timeout=10_000)
    shot(page, "browser-07-documents")

    # Ask about it: the answer cites the uploaded file, and its hostile text stays text.
    page.click("button[role='tab']:has-text('Chat')")
    timings.append(ask(page, LIGHTHOUSE_Q, screenshot=None))
    last = page.locator("#chat .answer, #chat .refusal, #chat .error").last
    assert last.locator("a.cite").count(), f"no cited answer: {last.inner_text()}"
    last.locator("a.cite").first.click()
    page.wait_for_selector("#sources .source.selected mark", timeout=10_000)
    assert "lighthouse.txt" in page.inner_text("#sources .source.selected .meta")
    if not REAL:
        assert page.inner_text("#sources .source.selected mark") == LIGHTHOUSE_QUOTE
    page.click("#sources .source.selected a.open-doc")
    page.wait_for_selector("#viewer mark.focus", timeout=10_000)
    viewer = page.inner_text("#viewer .doc-text")
    assert "<script>window.__pwned = 1</script>" in viewer and "${window.__pwned = 3} {{value}}" in viewer
    assert page.evaluate("window.__pwned") is None and not page.query_selector("#viewer script, #viewer img")
    shot(page, "browser-08-uploaded-answer")

    # Remove the uploaded document again from the Documents tab.
    page.click("button[role='tab']:has-text('Documents')")
    page.click("#doc-pick input")
    page.click("ul[role='listbox'] li:has-text('lighthouse.txt')")
    page.click("#remove-doc")
    page.wait_for_selector("#upload-log :text('removed from the index; its uploaded file was deleted')", timeout=10_000)
    assert not (Path(config.index_dir).parent / "uploads" / "lighthouse.txt").exists()
    page.click("button[role='tab']:has-text('Chat')")

    if not REAL:  # a question the documents do not answer is refused, visibly
        ask(page, UNKNOWN_Q)
        page.wait_for_selector("#chat .refusal .badge-refusal", timeout=10_000)
        assert page.inner_text("#chat .refusal .badge-refusal").lower() == "not in the documents"
        page.wait_for_selector("#sources :text('No source supports an answer.')", timeout=10_000)
        shot(page, "browser-09-refusal")
    assert not errors, errors

    ARTIFACTS.mkdir(exist_ok=True)
    record = {"mode": "real models" if REAL else "fake embedder + scripted generator (60 ms per 4 characters)",
              "browser": browser.version, "asks": timings}
    (ARTIFACTS / f"browser_timings{'_real' if REAL else ''}.json").write_text(json.dumps(record, indent=2) + "\n")
    print("\nbrowser timings (send -> first streamed text, send -> checked answer):")
    for t in timings:
        print(f"  {t['first_token_ms']:>7} ms  {t['answer_ms']:>7} ms  {t['question']}")


@pytest.mark.skipif(REAL, reason="two real generations in a row take minutes; the fake run checks the queue")
def test_two_users_ask_at_once(site, browser):
    url, _ = site
    pages = [browser.new_context().new_page() for _ in range(2)]
    for page in pages:
        page.goto(url)
        page.wait_for_selector("#chat .examples, #chat button:has-text('blue whale')", timeout=30_000)
    pages[0].fill("#question textarea", WHALE_Q)
    pages[0].click("#send")
    pages[1].click(f"#chat button:has-text('{WHALE_Q}')")  # the example question
    for page in pages:
        page.wait_for_selector("#chat .answer a.cite", timeout=TIMEOUT_MS)
        shot(page, f"browser-10-user-{pages.index(page) + 1}")
        assert page.inner_text("#chat .answer").startswith("An adult blue whale")


@pytest.mark.skipif(REAL, reason="the fake run checks the buttons")
def test_stop_and_new_chat(site, browser):
    url, _ = site
    page = browser.new_page(viewport={"width": 1440, "height": 960})
    page.goto(url)
    page.wait_for_selector("#chat", timeout=30_000)
    page.fill("#question textarea", WHALE_Q)
    page.click("#send")
    page.wait_for_selector("#chat .draft", timeout=TIMEOUT_MS)
    page.click("#stop")
    page.wait_for_selector("#chat .stopped", timeout=10_000)
    page.wait_for_selector("#send", timeout=10_000)
    assert "not a checked answer" in page.inner_text("#chat .stopped")
    time.sleep(2)  # the cancelled answer must not come back
    assert not page.query_selector("#chat .answer") and page.query_selector("#chat .stopped")
    shot(page, "browser-11-stopped")
    page.click("#new-chat")
    page.wait_for_selector(f"#chat button:has-text('{WHALE_Q}')", timeout=10_000)  # the examples again
    assert not page.query_selector("#chat .message-row") and "Ask a question:" in page.inner_text("#sources")


@pytest.mark.skipif(REAL, reason="this run already uses the real models")
def test_the_main_flow_with_the_real_models():
    """The chat flow again in the browser, with the real embedder and model over ../shared/corpus:
    a seed-corpus question streams, its citation opens the highlighted quote, an upload is answered."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         f"{__file__}::test_chat_sources_upload_and_feedback"],
        env={**os.environ, "RAG_BROWSER_REAL": "1"}, capture_output=True, text=True, timeout=1200,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    timings = json.loads((ARTIFACTS / "browser_timings_real.json").read_text())
    print(json.dumps(timings))


@pytest.mark.skipif(REAL, reason="uses the fake model's scripted replies")
def test_two_users_in_different_groups_each_see_only_their_own_uploads(tmp_path, browser):
    from rag.web.ui import create_app
    from rag.web.users import parse_users

    assistant, config = _fake_assistant(tmp_path)
    users = parse_users("ana:one:hr\nbo:two:sales\n", "users")
    folder = tmp_path / "to-upload"
    folder.mkdir()
    with running(create_app(assistant, config, auth=users, examples=[])) as url:
        pages = {}
        for name, password, group in (("ana", "one", "hr"), ("bo", "two", "sales")):
            page = browser.new_context().new_page()
            page.goto(url)
            page.fill("input[type='text']", name)
            page.fill("input[type='password']", password)
            page.keyboard.press("Enter")
            page.wait_for_selector("#question textarea", timeout=30_000)
            (folder / f"{group}.txt").write_text(BONUS[group], encoding="utf-8")
            page.click("button[role='tab']:has-text('Documents')")
            page.set_input_files("#upload input[type='file']", [str(folder / f"{group}.txt")])
            # By its label, not its text: Gradio sometimes writes the name's stem and extension with a space
            # between them ("sales .txt"), which made this wait time out on a loaded machine.
            page.wait_for_selector(f"#upload td.filename[aria-label='{group}.txt']", timeout=10_000)
            page.click("#add-docs")
            page.wait_for_selector("#upload-log li.ok", timeout=TIMEOUT_MS)
            pages[group] = page
        for group, page in pages.items():
            page.click("button[role='tab']:has-text('Chat')")
            ask(page, BONUS_Q)
            page.locator("#chat .answer a.cite").first.click()
            page.wait_for_selector("#sources .source.selected mark", timeout=10_000)
            assert page.inner_text("#sources .source.selected mark") == BONUS[group]
            page.click("#sources .source.selected a.open-doc")
            page.wait_for_selector("#viewer mark.focus", timeout=10_000)
            page.click("button[role='tab']:has-text('Documents')")
            page.wait_for_function(f"(document.querySelector('#doc-table')?.innerText || '').includes('{group}.txt')",
                                   timeout=10_000)
            shot(page, f"browser-11-groups-{group}")
            assert "7 documents" in page.inner_text("#header")  # the toy corpus and their own upload
        for group, page in pages.items():
            other = "sales" if group == "hr" else "hr"
            html = page.content()
            assert BONUS[group] in html
            assert BONUS[other] not in html and f"{other}.txt" not in html


@pytest.mark.skipif(REAL, reason="uses the fake model's scripted replies")
def test_a_conversation_reopens_with_its_quotes_after_a_restart(tmp_path, browser):
    from rag.indexing import index_path
    from rag.web.ui import create_app

    assistant, config = _fake_assistant(tmp_path)
    with running(create_app(assistant, config, examples=[])) as url:
        page = browser.new_context().new_page()
        page.goto(url)
        page.wait_for_selector("#question textarea", timeout=30_000)
        ask(page, WHALE_Q)
        page.wait_for_function("(document.querySelector('#conversations')?.innerText || '').includes('blue whale')",
                               timeout=10_000)
    # A new server process over the same index folder: the conversation is read back from SQLite.
    with running(create_app(assistant, config, examples=[])) as url:
        page = browser.new_context().new_page()
        page.goto(url)
        page.click(f"#conversations label:has-text('{WHALE_Q}')", timeout=30_000)
        page.wait_for_selector("#chat .answer a.cite", timeout=10_000)
        assert page.inner_text("#chat .answer").startswith("An adult blue whale")
        assert page.inner_text("#sources .source mark") == WHALE_QUOTE
        page.locator("#chat .answer a.cite").first.click()
        page.wait_for_selector("#sources .source.selected mark", timeout=10_000)
        shot(page, "browser-12-reopened")

        # The document changes: reopened again, the card says so and shows the words quoted then.
        (config.corpus_dir / "whales.txt").write_text("Blue whales eat krill. They are large.", encoding="utf-8")
        index_path(config.corpus_dir, assistant.store, assistant.embedder, config)
        page.reload()
        page.click(f"#conversations label:has-text('{WHALE_Q}')", timeout=30_000)
        page.wait_for_selector("#sources .source .missing", timeout=10_000)
        assert page.inner_text("#sources .source .missing").startswith("This document has changed since")
        assert page.inner_text("#sources .source mark") == WHALE_QUOTE
        assert not page.query_selector("#sources .source a.open-doc")
        shot(page, "browser-13-reopened-changed")


@pytest.mark.skipif(REAL, reason="uses the fake model's scripted replies")
def test_a_slide_deck_a_spreadsheet_and_a_scan_are_uploaded_and_answered_with_quotes(tmp_path, browser):
    import openpyxl
    import pptx

    from rag.web.ui import create_app
    from test_loaders import write_scan

    folder = tmp_path / "to-upload"
    folder.mkdir()
    book = openpyxl.Workbook()
    for row in [("Office", "Head count"), ("Harbour office", 42), ("Hill office", 17)]:
        book.active.append(row)
    book.save(folder / "offices.xlsx")
    deck = pptx.Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[1])
    slide.shapes.title.text = "Arrival"
    slide.placeholders[1].text_frame.text = "Staff badges are issued at the front desk."
    deck.save(str(folder / "badges.pptx"))
    write_scan(folder / "archive.pdf", ["The archive opens at nine on Mondays."])

    assistant, config = _fake_assistant(tmp_path)
    with running(create_app(assistant, config, examples=[])) as url:
        page = browser.new_context().new_page()
        page.goto(url)
        page.click("button[role='tab']:has-text('Documents')")
        page.set_input_files("#upload input[type='file']", [str(folder / name) for name in FORMATS_BY_FILE])
        page.wait_for_function("['offices', 'badges', 'archive'].every("
                               "n => (document.querySelector('#upload')?.innerText || '').includes(n))", timeout=10_000)
        page.click("#add-docs")
        page.wait_for_function("document.querySelectorAll('#upload-log li.ok').length === 3", timeout=TIMEOUT_MS)
        page.click("button[role='tab']:has-text('Chat')")
        for name, (question, quote, _) in FORMATS_BY_FILE.items():
            ask(page, question)
            last = page.locator("#chat .answer").last
            last.locator("a.cite").first.click()
            page.wait_for_selector("#sources .source.selected mark", timeout=10_000)
            assert name in page.inner_text("#sources .source.selected .meta")
            assert page.inner_text("#sources .source.selected mark") == quote
        shot(page, "browser-14-formats")


@pytest.mark.skipif(REAL, reason="uses the fake model's scripted replies")
def test_a_question_in_chinese_gets_a_chinese_answer_citing_an_english_quote(tmp_path, browser):
    import dataclasses

    from conftest import TOY, ScriptedGenerator
    from rag.prompting import render
    from rag.web.ui import EXAMPLES, create_app

    class Bilingual(ScriptedGenerator):
        """Rewrites the question into English when asked to, then answers in Chinese; judges say yes."""

        def stream(self, messages, *, max_tokens=256):
            system = messages[0]["content"]
            self.replies = ["How much can a blue whale weigh?" if system == render("rewrite_system", language="English")
                            else "An adult can weigh up to 150 tonnes." if system == render("translate_system", language="English")
                            else "成年蓝鲸的体重可达一百五十吨 [1]。"]
            yield from super().stream(messages, max_tokens=max_tokens)

        def first_token_probabilities(self, messages):
            self.replies = ["成年"]
            return super().first_token_probabilities(messages)

    assistant, config = _fake_assistant(tmp_path)
    config = dataclasses.replace(config, judge=True, answer_language="direct")
    assistant = dataclasses.replace(assistant, config=config, generator=Bilingual())
    with running(create_app(assistant, config)) as url:
        page = browser.new_context().new_page()
        page.goto(url)
        page.wait_for_selector("#question textarea", timeout=30_000)
        assert EXAMPLES[-1] in page.inner_text("#chat"), "a Chinese example question in the empty chat"
        page.click("#question textarea")
        page.keyboard.insert_text("蓝鲸有多重？")  # as an input method commits composed text
        page.click("#send")
        page.wait_for_selector("#chat .answer a.cite", timeout=TIMEOUT_MS)
        assert page.inner_text("#chat .answer").startswith("成年蓝鲸的体重可达一百五十吨")
        quote = page.inner_text("#sources .source mark")
        assert quote == "An adult can weigh up to 150 tonnes.", "the quote stays in the document's English"
        shot(page, "browser-15-chinese")
