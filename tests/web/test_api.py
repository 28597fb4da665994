"""The JSON API on a real server (uvicorn on 127.0.0.1, a free port), over the toy corpus with fakes."""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager

import httpx
import pytest

from rag.web.library import MAX_UPLOAD_BYTES, UploadError, check_upload, safe_name

WHALE = "An adult blue whale can weigh up to 150 tonnes [1]."
LIGHTHOUSE = ("The Harbour Lighthouse was built in 1887 by the port authority. "
              "Its lamp can be seen from 30 kilometres away at sea.")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running(app):
    """Serve `app` with uvicorn in a thread; yields its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def serve_fakes(make_assistant, config):
    """Start a server whose model says the given replies; yields (base URL, assistant)."""
    from rag.web.ui import create_app

    @contextmanager
    def start(*replies: str, auth=None):
        assistant = make_assistant(*replies)
        with running(create_app(assistant, config, auth=auth)) as url:
            yield url, assistant

    return start


def test_ask_returns_the_answer_as_json(serve_fakes):
    with serve_fakes(WHALE) as (url, _):
        r = httpx.post(f"{url}/api/ask", json={"question": "How much can a blue whale weigh?"}, timeout=30)
    assert r.status_code == 200
    body = r.json()
    assert {"question", "query", "answer", "refused", "citations", "unsupported", "passages", "timings"} <= set(body)
    assert body["answer"] == WHALE and body["refused"] is False
    (c,) = body["citations"]
    assert c["doc_id"] == "whales.txt" and c["quote"] == "An adult can weigh up to 150 tonnes."


def test_ask_passes_the_history_for_follow_ups(serve_fakes):
    with serve_fakes("An adult can weigh up to 150 tonnes [1].") as (url, assistant):
        r = httpx.post(f"{url}/api/ask", timeout=30, json={
            "question": "and how heavy are they?", "history": [["What are the largest animals ever known?", "x"]]})
    assert r.status_code == 200 and not r.json()["refused"]
    assert r.json()["query"] == "What are the largest animals ever known? and how heavy are they?"
    assert "What are the largest animals ever known?" in assistant.generator.prompts[0][1]["content"]


@pytest.mark.parametrize("body, message", [
    ({"question": "   "}, "the question is empty: type a question about the documents"),
    ({"q": "x"}, "the body needs a string field 'question'"),
    ({"question": "x", "history": ["x"]}, "'history' must be a list of [question, answer] pairs of strings"),
])
def test_bad_questions_are_400_with_a_message(serve_fakes, body, message):
    with serve_fakes() as (url, _):
        r = httpx.post(f"{url}/api/ask", json=body, timeout=30)
        not_json = httpx.post(f"{url}/api/ask", content=b"{", timeout=30)
    assert r.status_code == 400 and r.json() == {"error": message}
    assert not_json.status_code == 400 and not_json.json()["error"].startswith("the body is not valid JSON")


def test_oversized_upload_is_413(serve_fakes, config):
    with serve_fakes() as (url, _):
        r = httpx.post(f"{url}/api/documents", files={"file": ("big.txt", b"a" * (MAX_UPLOAD_BYTES + 1))}, timeout=60)
    assert r.status_code == 413 and "the limit is 20 MB" in r.json()["error"]
    assert not (config.index_dir.parent / "uploads" / "big.txt").exists()


def test_unsupported_type_is_415(serve_fakes):
    with serve_fakes() as (url, _):
        r = httpx.post(f"{url}/api/documents", files={"file": ("setup.exe", b"MZ\x90\x00")}, timeout=30)
    assert r.status_code == 415
    assert r.json()["error"].startswith("'setup.exe' has an unsupported file type '.exe'; upload one of .txt")


def test_unreadable_upload_is_422_and_not_kept(serve_fakes, config):
    with serve_fakes() as (url, _):
        r = httpx.post(f"{url}/api/documents", files={"file": ("broken.pdf", b"%PDF-1.4 not really")}, timeout=30)
    assert r.status_code == 422 and r.json()["error"].startswith("'broken.pdf' could not be read: ")
    assert list((config.index_dir.parent / "uploads").glob("*")) == []


def test_path_in_the_file_name_is_dropped(serve_fakes, config, tmp_path):
    with serve_fakes() as (url, _):
        r = httpx.post(f"{url}/api/documents", files={"file": ("../evil.txt", b"Evil plans are kept here.")}, timeout=30)
    assert r.status_code == 200 and r.json()["doc_id"] == "evil.txt"
    uploads = config.index_dir.parent / "uploads"
    assert [p.name for p in uploads.iterdir()] == ["evil.txt"]
    assert not (uploads.parent / "evil.txt").exists() and not (tmp_path.parent / "evil.txt").exists()


def test_uploaded_file_is_indexed_listed_cited_and_removed(serve_fakes, config):
    reply = "The lamp of the Harbour Lighthouse can be seen from 30 kilometres away [1]."
    with serve_fakes(reply) as (url, _):
        r = httpx.post(f"{url}/api/documents", files={"file": ("lighthouse.txt", LIGHTHOUSE.encode())}, timeout=30)
        assert r.status_code == 200
        assert r.json()["report"]["added"] == ["lighthouse.txt"] and r.json()["report"]["chunks_embedded"] >= 1
        listed = {d["doc_id"]: d for d in httpx.get(f"{url}/api/documents", timeout=30).json()}
        assert listed["lighthouse.txt"]["uploaded"] is True and listed["whales.txt"]["uploaded"] is False
        answer = httpx.post(f"{url}/api/ask", json={"question": "How far away can the Harbour Lighthouse lamp be seen?"},
                            timeout=30).json()
        assert answer["refused"] is False and answer["answer"] == reply
        assert answer["citations"][0]["doc_id"] == "lighthouse.txt"
        assert answer["citations"][0]["quote"] == "Its lamp can be seen from 30 kilometres away at sea."
        gone = httpx.delete(f"{url}/api/documents/lighthouse.txt", timeout=30)
        again = httpx.delete(f"{url}/api/documents/lighthouse.txt", timeout=30)
        listed = [d["doc_id"] for d in httpx.get(f"{url}/api/documents", timeout=30).json()]
    assert gone.json() == {"removed": "lighthouse.txt"} and "lighthouse.txt" not in listed
    assert again.status_code == 404 and again.json() == {"error": "no document 'lighthouse.txt' in the index"}
    assert not (config.index_dir.parent / "uploads" / "lighthouse.txt").exists()


def _xlsx(path):
    import openpyxl

    book = openpyxl.Workbook()
    for row in [("Office", "Head count"), ("Harbour office", 42), ("Hill office", 17)]:
        book.active.append(row)
    book.save(path)


def _pptx(path):
    import pptx

    deck = pptx.Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[1])
    slide.shapes.title.text = "Offices"
    slide.placeholders[1].text_frame.text = "The Harbour office has a head count of 42."
    deck.save(str(path))


def _scan(path):
    from tests.test_loaders import write_scan

    write_scan(path, ["The Harbour office has a head count of 42."])


@pytest.mark.parametrize("name, write, quote", [
    ("offices.xlsx", _xlsx, "Office: Harbour office; Head count: 42"),
    ("offices.pptx", _pptx, "The Harbour office has a head count of 42."),
    ("offices.pdf", _scan, "The Harbour office has a head count of 42."),
])
def test_an_uploaded_slide_deck_spreadsheet_or_scan_is_answered_with_an_exact_quote(serve_fakes, tmp_path, name,
                                                                                     write, quote):
    write(tmp_path / name)
    reply = "The Harbour office has a head count of 42 [1]."
    with serve_fakes(reply) as (url, _):
        r = httpx.post(f"{url}/api/documents", timeout=60, files={"file": (name, (tmp_path / name).read_bytes())})
        answer = httpx.post(f"{url}/api/ask", json={"question": "What is the head count of the Harbour office?"},
                            timeout=30).json()
    assert r.status_code == 200 and r.json()["report"]["added"] == [name]
    assert answer["refused"] is False and answer["answer"] == reply
    (citation,) = answer["citations"]
    assert citation["doc_id"] == name and citation["quote"] == quote


def test_upload_may_not_replace_a_document_from_another_folder(serve_fakes):
    with serve_fakes() as (url, _):
        r = httpx.post(f"{url}/api/documents", files={"file": ("whales.txt", b"Whales are small.")}, timeout=30)
    assert r.status_code == 409 and r.json()["error"].startswith("a document named 'whales.txt' is already indexed from ")


def test_server_answers_while_the_model_is_busy(make_assistant, config):
    """Two questions at once both get answers, and the document list does not wait for them."""
    from rag.web.ui import create_app

    assistant = make_assistant(WHALE, WHALE)
    stream = assistant.generator.stream

    def slow(messages, **kw):
        for piece in stream(messages, **kw):
            time.sleep(0.02)
            yield piece

    assistant.generator.stream = slow
    results = []
    with running(create_app(assistant, config)) as url:
        def ask():
            results.append(httpx.post(f"{url}/api/ask", json={"question": "How much can a blue whale weigh?"},
                                      timeout=60))

        askers = [threading.Thread(target=ask) for _ in range(2)]
        for t in askers:
            t.start()
        time.sleep(0.2)
        started = time.perf_counter()
        listed = httpx.get(f"{url}/api/documents", timeout=30)
        listing_took = time.perf_counter() - started
        for t in askers:
            t.join(60)
    assert listed.status_code == 200 and listing_took < 0.5
    assert [r.status_code for r in results] == [200, 200]
    assert all(r.json()["answer"] == WHALE for r in results)


def test_login_guards_the_api_and_the_ui(serve_fakes):
    auth = [("staff", "s3cret")]
    with serve_fakes(WHALE, auth=auth) as (url, _):
        anonymous = httpx.post(f"{url}/api/ask", json={"question": "How much can a blue whale weigh?"}, timeout=30)
        wrong = httpx.get(f"{url}/api/documents", auth=("staff", "nope"), timeout=30)
        right = httpx.post(f"{url}/api/ask", json={"question": "How much can a blue whale weigh?"},
                           auth=("staff", "s3cret"), timeout=30)
        ui_config = httpx.get(f"{url}/config", timeout=30)
        with httpx.Client(base_url=url, timeout=30) as browser:
            login = browser.post("/login", data={"username": "staff", "password": "s3cret"})
            ui_after_login = browser.get("/config")
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == 'Basic realm="rag"'
    assert wrong.status_code == 401 and right.status_code == 200
    assert ui_config.status_code == 401
    assert login.status_code == 200 and ui_after_login.status_code == 200


@pytest.mark.parametrize("given, expected", [
    ("../evil.txt", "evil.txt"),
    ("..\\..\\windows\\evil.md", "evil.md"),
    ("Q3 report (final).PDF", "Q3_report_final.pdf"),
    ("résumé.docx", "resume.docx"),
    ("..", "upload"),
    (".hidden.txt", "hidden.txt"),
    ("a/b/<script>.html", "script.html"),
])
def test_safe_name(given, expected):
    assert safe_name(given) == expected


def test_check_upload_limits():
    assert check_upload("../notes.md", 10) == "notes.md"
    with pytest.raises(UploadError, match=r"^'x.exe' has an unsupported file type '.exe'") as info:
        check_upload("x.exe", 10)
    assert info.value.status == 415
    with pytest.raises(UploadError, match=r"^'x.txt' is 20.0 MB; the limit is 20 MB$") as info:
        check_upload("x.txt", MAX_UPLOAD_BYTES + 1)
    assert info.value.status == 413
    with pytest.raises(UploadError, match=r"^'x.txt' is empty$"):
        check_upload("x.txt", 0)


def test_stoppable_ends_soon_after_stop_and_closes_the_stream():
    from rag.web.library import stoppable

    closed = threading.Event()

    def slow():
        try:
            for i in range(100):
                time.sleep(0.05)
                yield i
        finally:
            closed.set()

    stop = threading.Event()
    seen = []
    started = time.perf_counter()
    for item in stoppable(slow(), stop, poll=0.01):
        seen.append(item)
        if item == 2:
            stop.set()
    assert seen == [0, 1, 2] and time.perf_counter() - started < 1.0
    assert closed.wait(1.0)
    assert list(stoppable(iter([1, 2]), threading.Event())) == [1, 2]
    with pytest.raises(ValueError, match="boom"):
        list(stoppable((int(x) for x in ["1", "boom"]), threading.Event()))


def test_a_document_for_other_groups_is_never_listed_cited_shown_or_removed(make_assistant, config, tmp_path):
    from rag.indexing import index_path
    from rag.web.ui import create_app

    assistant = make_assistant("The budget is the one in the passage [1].", "The budget is the one in the passage [1].")
    private = tmp_path / "private"
    private.mkdir()
    (private / "payroll.txt").write_text("The payroll budget for 2025 is 4 million euros.", encoding="utf-8")
    index_path(private, assistant.store, assistant.embedder, assistant.config, readers=["hr"])
    with running(create_app(assistant, config)) as url:
        answer = httpx.post(f"{url}/api/ask", json={"question": "What is the payroll budget for 2025?"}, timeout=30)
        openai_reply = httpx.post(f"{url}/v1/chat/completions", timeout=30, json={
            "model": "rag", "messages": [{"role": "user", "content": "What is the payroll budget for 2025?"}]})
        listed = httpx.get(f"{url}/api/documents", timeout=30).json()
        removed = httpx.delete(f"{url}/api/documents/payroll.txt", timeout=30)
        replaced = httpx.post(f"{url}/api/documents", files={"file": ("payroll.txt", b"Nothing here.")}, timeout=30)
    everything = answer.text + openai_reply.text + str(listed) + removed.text + replaced.text
    assert "4 million" not in everything + str(assistant.generator.prompts)
    assert answer.json()["refused"] is True and openai_reply.json()["rag"]["refused"] is True
    assert "payroll.txt" not in [d["doc_id"] for d in listed]
    assert removed.status_code == 404 and replaced.status_code == 409
    assert assistant.store.document("payroll.txt") is not None  # still indexed, for its own readers
