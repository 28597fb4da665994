"""The browser UI for staff: chat with checked citations, sources, documents, feedback; and `serve`.

`create_app(assistant, config)` builds a FastAPI app with the JSON API (rag/api.py) and the Gradio
UI mounted at "/"; `serve(config)` indexes the default corpus when the index is empty, then runs it
with uvicorn. The chat's markup comes from rag/render.py, which escapes every piece of text.
"""

# No `from __future__ import annotations` here: Gradio reads the handlers' annotations at run time to
# pass them event data (gr.LikeData, gr.SelectData).
import dataclasses
import ipaddress
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from rag.web import feedback, render
from rag.config import Config
from rag.errors import RagError
from rag.web.conversations import Conversations, conversations_path
from rag.web.library import MAX_UPLOAD_BYTES, Library, check_upload, uploads_dir
from rag.web.users import Users, entries, load_users
from rag.loaders import SUFFIXES
from rag.types import Answer

EXAMPLES = [  # questions the default corpus (China's 2025-2026 policy news) answers
    "What pillar industries does the government work report call for developing?",
    "How much did China spend on research and development?",
    "What does the 2026 government work report say about artificial intelligence?",
    "2025年中国人工智能核心产业的规模有多大？",  # any language: answered in it, quoted in the document's
]
TITLE = "Ask the documents"

# One listener for the whole page: [n] markers in answers, "open document" and "close" links in the
# side panel. It hands "kind-turn-n:time" to the hidden bridge, whose change event runs on the server.
BRIDGE_JS = """
document.addEventListener('click', (event) => {
  const link = event.target.closest('a.cite, a.open-doc, a.close-doc');
  if (!link) return;
  event.preventDefault();
  props.value = link.getAttribute('href').slice(1) + ':' + Date.now();
  trigger('change');
});
"""
SOURCES_JS = """
watch('value', () => {
  const card = element.querySelector('.source.selected');
  if (card) card.scrollIntoView({block: 'nearest', behavior: 'smooth'});
});
"""
VIEWER_JS = """
watch('value', () => {
  const mark = element.querySelector('mark.focus');
  const text = element.querySelector('.doc-text');
  if (!mark || !text) return;
  text.scrollTop = Math.max(0, mark.offsetTop - text.clientHeight / 3);
  element.scrollIntoView({block: 'nearest', behavior: 'smooth'});
});
"""


@dataclass(frozen=True)
class Turn:
    """One question of a conversation and what became of it."""

    question: str
    answer: Answer | None = None  # the checked answer, once it is there
    partial: str = ""  # text streamed so far
    error: str = ""
    stopped: bool = False
    versions: dict | None = None  # of a reopened turn: the cited documents' hashes when it was answered
    saved: bool = False  # kept in the conversation store


def chat_messages(turns: list[Turn]) -> list[dict]:
    """The Chatbot's value: each turn as a user message and an assistant message, as HTML."""
    messages = []
    for i, t in enumerate(turns):
        if t.answer is not None:
            reply = render.answer_html(t.answer, i)
        elif t.error:
            reply = render.error_html(t.error)
        elif t.stopped:
            reply = render.stopped_html(t.partial)
        else:
            reply = render.streaming_html(t.partial)
        messages += [{"role": "user", "content": render.question_html(t.question)},
                     {"role": "assistant", "content": reply}]
    return messages


def load_credentials(path: str | Path | None = None) -> list[tuple[str, str]] | None:
    """Logins from a file of `user:password` lines, or from $RAG_AUTH (same format); None when neither."""
    if path:
        text, origin = Path(path).read_text(encoding="utf-8"), str(path)
    elif os.environ.get("RAG_AUTH"):
        text, origin = os.environ["RAG_AUTH"], "RAG_AUTH"
    else:
        return None
    pairs = []
    for number, line in entries(text):
        user, _, password = line.partition(":")
        if not user.strip() or not password:
            raise RagError(f"{origin}, line {number}: expected user:password")
        pairs.append((user.strip(), password))
    if not pairs:
        raise RagError(f"{origin} holds no user:password line")
    return pairs


def create_app(assistant, config: Config, *, auth: Users | list[tuple[str, str]] | None = None, examples=None):
    """The FastAPI app: /api and /v1 routes and the Gradio UI at "/", all behind `auth` when given
    (Users, or (user, password) pairs: users without groups)."""
    from fastapi import FastAPI

    from rag.web.api import add_routes
    from rag.web.openai_api import add_openai_routes

    users = auth if isinstance(auth, Users) or auth is None else Users.from_pairs(auth)
    library = Library(assistant, uploads_dir(config))
    app = FastAPI(title=TITLE, docs_url=None, redoc_url=None, openapi_url=None)
    kept = Conversations(conversations_path(config))
    add_routes(app, library, users, kept)
    add_openai_routes(app, library, users)
    blocks = ChatPage(library, config, EXAMPLES if examples is None else examples, users, kept).build()
    theme = gr.themes.Soft(primary_hue="indigo", neutral_hue="slate",
                           font=["Inter", "system-ui", "Segoe UI", "Helvetica Neue", "Arial", "sans-serif"],
                           font_mono=["ui-monospace", "DejaVu Sans Mono", "monospace"])
    login = None if users is None else (lambda name, password: users.authenticate(name, password) is not None)
    return gr.mount_gradio_app(app, blocks, path="/", auth=login, auth_message=f"{TITLE}: log in with your staff account",
                               footer_links=[], run_history=False, max_file_size=MAX_UPLOAD_BYTES, ssr_mode=False,
                               pwa=False, mcp_server=False, theme=theme, css=render.CSS)


class ChatPage:
    """The Gradio page: a Chat tab (answers, sources, inspector, feedback), a sidebar of conversations
    and a Documents tab. Its event handlers are the methods below; `build()` lays the page out and
    wires them. Every handler acts for the logged-in user (`users`): only documents their groups may
    read are searched, shown, listed or removed, and their uploads are readable by their groups."""

    def __init__(self, library: Library, config: Config, examples: list[str], users: Users | None = None,
                 kept: Conversations | None = None):
        self.library = library
        self.config = config
        self.examples = examples
        self.users = users
        self.store = library.store
        self.feedback_db = feedback.feedback_path(config)
        self.kept = kept or Conversations(conversations_path(config))
        self.stops: dict[str, threading.Event] = {}  # browser session -> the Stop flag of its running answer

    # -- who asks ---------------------------------------------------------------------------------

    def user_of(self, request: gr.Request | None):
        return self.users.get(getattr(request, "username", None)) if self.users is not None else None

    def reader(self, request: gr.Request | None) -> Library:
        user = self.user_of(request)
        return self.library.as_reader(user.groups if user else ())

    def owner(self, request: gr.Request | None) -> str:
        user = self.user_of(request)
        return user.name if user else ""

    def conversation_list(self, request: gr.Request, selected: str | None = None):
        mine = self.kept.list(self.owner(request))
        return gr.update(choices=[(c["title"], c["id"]) for c in mine], value=selected)

    def sources_for(self, library: Library, turns: list[Turn], i: int, selected: int | None = None) -> str:
        turn = turns[i]
        return render.sources_html(turn.answer, i, library.document, selected=selected,
                                   changed=library.changed(turn.versions))

    def start_conversation(self, request: gr.Request):
        """No conversation selected (a new one starts with the next answer); the user's list."""
        return None, self.conversation_list(request)

    def save_turn(self, turns: list[Turn], conversation: str | None, request: gr.Request):
        """After an answer: append it to the conversation (started by the first one)."""
        turns = list(turns or [])
        if not turns or turns[-1].answer is None or turns[-1].saved:
            return gr.skip(), gr.skip(), gr.skip()
        answer = turns[-1].answer
        conversation = self.kept.add(self.owner(request), conversation, answer, self.reader(request).versions(answer))
        turns[-1] = dataclasses.replace(turns[-1], saved=True)
        return turns, conversation, self.conversation_list(request, conversation)

    def open_conversation(self, conversation: str | None, request: gr.Request):
        library = self.reader(request)
        saved = self.kept.load(self.owner(request), conversation) if conversation else None
        if not saved:
            return (gr.skip(),) * 8
        turns = [Turn(s.question, s.answer, versions=s.versions, saved=True) for s in saved]
        last = turns[-1].answer
        return (chat_messages(turns), turns, conversation, self.sources_for(library, turns, len(turns) - 1), "",
                render.query_html(last), render.hit_rows(last.hits), "")

    def delete_conversation(self, conversation: str | None, current: str | None, request: gr.Request):
        if conversation:
            self.kept.delete(self.owner(request), conversation)
        if conversation and conversation == current:
            empty = render.sources_html(None, 0, self.library.document)
            return self.conversation_list(request), None, [], [], empty, ""
        return (self.conversation_list(request, current),) + (gr.skip(),) * 5

    def doc_outputs(self, request: gr.Request):
        library = self.reader(request)
        docs = library.documents()
        rows = render.document_rows(docs, library.is_upload)
        return rows, gr.update(choices=[(f"{d.title} ({d.doc_id})", d.doc_id) for d in docs], value=None), \
            render.header_html(TITLE, *library.count())

    def respond(self, question: str, turns: list[Turn], request: gr.Request):
        library = self.reader(request)
        turns = list(turns or [])
        history = [(t.question, t.answer.text) for t in turns if t.answer is not None]
        i, turn = len(turns), Turn(question.strip())
        if not turn.question:
            gr.Warning("Type a question first.")
            yield (gr.skip(),) * 10
            return
        turns.append(turn)
        stop_flag = self.stops[request.session_hash] = threading.Event()
        # While answering, Stop replaces Ask and New chat, and the question box is locked.
        busy = (gr.update(value="", interactive=False), gr.update(visible=False), gr.update(visible=True),
                gr.update(visible=False))
        idle = (gr.update(interactive=True), gr.update(visible=True), gr.update(visible=False), gr.update(visible=True))
        keep = (gr.skip(),) * 4
        yield (busy[0], chat_messages(turns), turns, *keep, *busy[1:])
        answer = None
        try:
            for item in library.stream(turn.question, history, stop=stop_flag):
                if isinstance(item, Answer):
                    answer = item
                else:
                    turns[i] = turn = dataclasses.replace(turn, partial=turn.partial + item)
                    yield (gr.skip(), chat_messages(turns), turns, *keep, *(gr.skip(),) * 3)
        except RagError as exc:
            turns[i] = dataclasses.replace(turn, error=str(exc))
            yield (gr.update(value=turn.question, interactive=True), chat_messages(turns), turns, *keep, *idle[1:])
            return
        finally:
            stop_flag.set()  # also when the browser went away: the model stops after its next token
            self.stops.pop(request.session_hash, None)
        if answer is None:  # stopped
            turns[i] = dataclasses.replace(turn, stopped=True)
            yield (*idle[:1], chat_messages(turns), turns, *keep, *idle[1:])
            return
        turns[i] = dataclasses.replace(turn, answer=answer)
        yield (idle[0], chat_messages(turns), turns, render.sources_html(answer, i, library.document), "",
               render.query_html(answer), render.hit_rows(answer.hits), *idle[1:])

    def stop_answer(self, request: gr.Request):
        flag = self.stops.get(request.session_hash)
        if flag is not None:
            flag.set()

    def new_chat(self):
        return ([], [], {}, render.sources_html(None, 0, self.library.document), "", render.query_html(None), [], "",
                gr.update(visible=False), "")

    def follow_link(self, target: str, turns: list[Turn], request: gr.Request):
        library = self.reader(request)
        turns = list(turns or [])
        kind, _, rest = (target or "").partition("-")
        try:
            turn_i, n = (int(x) for x in rest.split(":")[0].split("-"))
        except ValueError:
            return gr.skip(), gr.skip()
        if kind == "close":
            return gr.skip(), ""
        answer = turns[turn_i].answer if 0 <= turn_i < len(turns or []) else None
        if answer is None:
            return gr.skip(), gr.skip()
        if kind == "cite":
            return self.sources_for(library, turns, turn_i, selected=n), ""
        doc_id, spans = render.citation_spans(answer, n)
        doc = library.document(doc_id)
        if doc is None:
            return gr.skip(), render.error_html(f"{doc_id} is no longer in the index.")
        if doc_id in library.changed(turns[turn_i].versions):
            return gr.skip(), render.error_html(f"{doc_id} has changed since this answer: its quote is shown "
                                                "as it was.")
        return gr.skip(), render.document_html(doc, spans, label=f"source [{n}]")

    def rate(self, turns: list[Turn], ratings: dict[int, int], data: gr.LikeData):
        ratings = dict(ratings or {})  # turn -> its row in feedback.sqlite; kept apart from the streamed turns
        index = data.index if isinstance(data.index, int) else data.index[0]
        i = index // 2
        turn = turns[i] if 0 <= i < len(turns or []) else None
        if turn is None or turn.answer is None:
            gr.Info("Only finished answers can be rated.")
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        liked = {True: feedback.UP, "Like": feedback.UP, False: feedback.DOWN, "Dislike": feedback.DOWN}
        rating = liked.get(data.liked) if isinstance(data.liked, (bool, str)) else None
        row = ratings.pop(i, None)
        if rating is None:
            if row is not None:
                feedback.delete(self.feedback_db, row)
            row = None
        elif row is None:
            row = feedback.record(self.feedback_db, turn.answer, rating)
        else:
            feedback.update(self.feedback_db, row, rating=rating)
        if row is not None:
            ratings[i] = row
        note = "" if row is None else ("Thanks. What was wrong with this answer? (optional)" if rating == feedback.DOWN
                                       else "Thanks. Anything to add? (optional)")
        return ratings, i, gr.update(visible=row is not None), gr.update(label=note or "Comment", value="")

    def save_comment(self, ratings: dict[int, int], rated: int | None, text: str):
        row = (ratings or {}).get(rated)
        if row is None:
            return gr.update(visible=False), ""
        feedback.update(self.feedback_db, row, comment=text)
        gr.Info("Comment saved. Thank you.")
        return gr.update(visible=False), ""

    def add_files(self, paths: list[str] | None, request: gr.Request, progress=gr.Progress()):
        library = self.reader(request)
        results = []
        paths = list(paths or [])
        if not paths:
            gr.Warning("Choose one or more files first.")
        for k, path in enumerate(paths):
            name = Path(path).name  # Gradio keeps the browser's file name

            def step(done: int, total: int, k=k, name=name):
                progress((k + (done / total if total else 1.0)) / len(paths), desc=f"Indexing {name}")

            progress(k / len(paths), desc=f"Reading {name}")
            try:
                check_upload(name, Path(path).stat().st_size)
                doc_id, report = library.add(name, Path(path).read_bytes(), step)
                results.append((name, True, render.report_text(doc_id, report)))
            except RagError as exc:
                results.append((name, False, str(exc).removeprefix(f"{name!r} ")))
        return (render.upload_log_html(results), *self.doc_outputs(request), None)

    def remove_doc(self, doc_id: str | None, request: gr.Request):
        library = self.reader(request)
        if not doc_id:
            return render.upload_log_html([("", False, "Choose a document to remove.")]), *self.doc_outputs(request)
        try:
            doc = library.remove(doc_id)
            note = "its uploaded file was deleted" if library.is_upload(doc) else \
                "it comes back if its folder is indexed again"
            log = render.upload_log_html([(doc.doc_id, True, f"removed from the index; {note}")])
        except RagError as exc:
            log = render.upload_log_html([(doc_id, False, str(exc))])
        return log, *self.doc_outputs(request)

    # -- the page -------------------------------------------------------------------------------

    def build(self):
        # delete_cache: files the browser uploaded are copied to the index's uploads/; Gradio's copies go after a day.
        with gr.Blocks(title=TITLE, analytics_enabled=False, fill_width=True, delete_cache=(3600, 86400)) as blocks:
            turns = gr.State([])
            conversation = gr.State(None)  # the id of the stored conversation these turns belong to
            ratings = gr.State({})
            rated = gr.State(None)  # the turn whose rating a comment goes with
            header = gr.HTML(render.header_html(TITLE, *self.library.as_reader(()).count()), elem_id="header")
            with gr.Sidebar(label="Conversations", open=True, elem_id="sidebar"):
                gr.Markdown("### Conversations")
                past = gr.Radio(choices=[], label="Your conversations, newest first", show_label=False,
                                elem_id="conversations")
                forget = gr.Button("Delete this conversation", variant="stop", size="sm",
                                   elem_id="delete-conversation")
            with gr.Tabs():
                with gr.Tab("Chat", id="chat-tab", elem_id="chat-tab"):
                    with gr.Row(equal_height=False):
                        with gr.Column(scale=3, min_width=420):
                            chat = gr.Chatbot(
                                elem_id="chat", show_label=False, height="62vh", min_height=360, layout="bubble",
                                placeholder=render.PLACEHOLDER, examples=[{"text": q} for q in self.examples], buttons=[],
                                feedback_options=("Like", "Dislike"), render_markdown=True, sanitize_html=True,
                                line_breaks=False, latex_delimiters=[], group_consecutive_messages=False)
                            with gr.Row(elem_id="ask-row", equal_height=True):
                                question = gr.Textbox(placeholder="Ask a question about the documents…", show_label=False,
                                                      lines=1, max_lines=4, scale=8, elem_id="question", autofocus=True)
                                send = gr.Button("Ask", variant="primary", scale=1, min_width=90, elem_id="send")
                                stop = gr.Button("Stop", variant="stop", scale=1, min_width=90, visible=False,
                                                 elem_id="stop")
                                new = gr.Button("New chat", variant="secondary", scale=1, min_width=130, elem_id="new-chat")
                            with gr.Group(visible=False, elem_id="comment-box") as comment_box:
                                comment = gr.Textbox(label="Comment", lines=2, elem_id="comment",
                                                     placeholder="e.g. the figure is from 2024, not 2025")
                                comment_send = gr.Button("Save comment", size="sm", elem_id="comment-send")
                        with gr.Column(scale=2, min_width=360):
                            sources = gr.HTML(render.sources_html(None, 0, self.library.document), elem_id="sources",
                                              js_on_load=SOURCES_JS)
                            viewer = gr.HTML("", elem_id="viewer", js_on_load=VIEWER_JS)
                    with gr.Accordion("Advanced: retrieval inspector", open=False, elem_id="inspector"):
                        query = gr.HTML(render.query_html(None), elem_id="query")
                        hits = gr.Dataframe(headers=render.HIT_COLUMNS, value=[], interactive=False, wrap=True,
                                            elem_id="hits", column_widths=["5%", "22%", "10%", "8%", "8%", "9%", "38%"])
                    bridge = gr.HTML("", visible="hidden", elem_id="bridge", js_on_load=BRIDGE_JS)
                with gr.Tab("Documents", id="docs-tab", elem_id="docs-tab"):
                    gr.Markdown(f"### Add documents\nText, Markdown, HTML, PDF (scanned pages are read by OCR), Word, "
                                f"PowerPoint, Excel, CSV, EPUB or OpenDocument text files, up to "
                                f"{MAX_UPLOAD_BYTES // 2**20} MB each. They are indexed at once and answers can cite "
                                "them right away; with a login, only your groups can read them.")
                    files = gr.File(file_count="multiple", file_types=list(SUFFIXES), label="Files", height=150,
                                    elem_id="upload")
                    add = gr.Button("Add to the index", variant="primary", elem_id="add-docs")
                    upload_log = gr.HTML("", elem_id="upload-log")
                    gr.Markdown("### Indexed documents")
                    docs = gr.Dataframe(headers=render.DOC_COLUMNS, value=[], interactive=False, wrap=True,
                                        elem_id="doc-table")
                    with gr.Row(equal_height=True):
                        pick = gr.Dropdown(label="Document to remove", choices=[], scale=4, elem_id="doc-pick")
                        remove = gr.Button("Remove from the index", variant="stop", scale=1, elem_id="remove-doc")

            outputs = [question, chat, turns, sources, viewer, query, hits, send, stop, new]
            ask = dict(fn=self.respond, inputs=[question, turns], outputs=outputs, concurrency_limit=4,
                       show_progress="hidden")
            save = dict(fn=self.save_turn, inputs=[turns, conversation], outputs=[turns, conversation, past],
                        queue=False)
            question.submit(**ask).then(**save)
            send.click(**ask).then(**save)

            def pick_example(data: gr.SelectData) -> str:
                return data.value["text"]

            chat.example_select(pick_example, None, question, queue=False).then(**ask).then(**save)
            past.input(self.open_conversation, [past],
                       [chat, turns, conversation, sources, viewer, query, hits, question],
                       queue=False)
            forget.click(self.delete_conversation, [past, conversation],
                         [past, conversation, chat, turns, sources, viewer],
                         queue=False)
            stop.click(self.stop_answer, None, None, queue=False)
            new.click(self.new_chat, None,
                      [chat, turns, ratings, sources, viewer, query, hits, question, comment_box, comment],
                      queue=False).then(self.start_conversation, None, [conversation, past], queue=False)
            bridge.change(self.follow_link, [bridge, turns], [sources, viewer], queue=False)
            chat.like(self.rate, [turns, ratings], [ratings, rated, comment_box, comment], queue=False)
            comment_send.click(self.save_comment, [ratings, rated, comment], [comment_box, comment], queue=False)
            add.click(self.add_files, [files], [upload_log, docs, pick, header, files], concurrency_limit=1)
            remove.click(self.remove_doc, [pick], [upload_log, docs, pick, header], concurrency_limit=1)
            blocks.load(self.doc_outputs, None, [docs, pick, header], queue=False)
            blocks.load(self.start_conversation, None, [conversation, past], queue=False)
        return blocks


def serve(config: Config, host: str = "127.0.0.1", port: int = 7860, auth: str | Path | None = None,
          assistant=None, users: str | Path | None = None) -> None:
    """Index the corpus if the index is empty, load the model, and serve the UI and API until Ctrl-C.

    Logins come from the `users` file (name:password:groups), else from the `auth` file or
    $RAG_AUTH (user:password, no groups)."""
    import uvicorn

    if users is not None:
        credentials = load_users(users)
    else:
        pairs = load_credentials(auth)
        credentials = Users.from_pairs(pairs) if pairs else None
    if assistant is None:
        from rag.pipeline import load_assistant

        assistant = load_assistant(config, create=True)
    if assistant.store.count()[0] == 0:
        _index_corpus(assistant, config)
    load = getattr(assistant.generator, "load", None)
    if load is not None:
        print(f"loading the model ({assistant.generator.name})...", file=sys.stderr)
        load()
    if not credentials and not _is_loopback(host):
        print(f"warning: serving on {host} without a login; anyone who can reach it can read the documents "
              "(pass --users FILE, or set RAG_AUTH=user:password)", file=sys.stderr)
    app = create_app(assistant, config, auth=credentials)
    shown = f"[{host}]" if ":" in host else host
    print(f"serving {TITLE} on http://{shown}:{port}  (API: POST /api/ask; Ctrl-C stops it)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _index_corpus(assistant, config: Config) -> None:
    from tqdm import tqdm

    from rag.indexing import index_path

    print(f"the index at {config.index_dir} is empty: indexing {config.corpus_dir}", file=sys.stderr)
    with tqdm(total=0, unit="chunk", desc="embedding", file=sys.stderr) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        report = index_path(config.corpus_dir, assistant.store, assistant.embedder, assistant.config, progress)
    for file, reason in report.failed:
        print(f"skipped {file}: {reason}", file=sys.stderr)
    print(f"indexed {len(report.added)} documents ({report.chunks_embedded} chunks)", file=sys.stderr)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
