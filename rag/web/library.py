"""The documents staff add and remove from the browser, and the lock that keeps searches off a changing index.

Uploads are checked (type, size, name) and saved under `config.index_dir.parent / "uploads"`, then
indexed one file at a time with `index_path`. The UI and the JSON API share one `Library`, so an
upload or a removal never runs while a question is being looked up in the same process.
"""

from __future__ import annotations

import copy
import os
import queue
import re
import threading
import unicodedata
from collections.abc import Iterator, Sequence
from pathlib import Path

from rag.config import Config
from rag.errors import LoadError, RagError
from rag.indexing import Progress, index_path
from rag.loaders import SUFFIXES, load_document
from rag.types import Answer, Document, IndexReport, readable_by

MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # largest file accepted from the browser or the API
MAX_NAME_CHARS = 120


class UploadError(RagError):
    """An upload that is refused; `status` is the HTTP status the API answers with."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def uploads_dir(config: Config) -> Path:
    return Path(config.index_dir).parent / "uploads"


def safe_name(filename: str) -> str:
    """A file name that is safe to save: the base name only, letters, digits, `.`, `-` and `_`.

    "../../etc/evil.txt" becomes "evil.txt"; "Q3 report (final).PDF" becomes "Q3_report_final.pdf".
    """
    base = re.split(r"[\\/]", filename or "")[-1]
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode()
    stem, dot, suffix = base.rpartition(".") if "." in base else (base, "", "")
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._-")[: MAX_NAME_CHARS - 10] or "upload"
    suffix = re.sub(r"[^A-Za-z0-9]+", "", suffix).lower()
    return f"{stem}.{suffix}" if dot and suffix else stem


def check_upload(filename: str, size: int) -> str:
    """The safe name to store an upload under; UploadError (415, 413, 400) when it is refused."""
    name = safe_name(filename)
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        kind = f"type {suffix!r}" if suffix else "type (no extension)"
        raise UploadError(f"{filename!r} has an unsupported file {kind}; upload one of {', '.join(SUFFIXES)}", 415)
    if size > MAX_UPLOAD_BYTES:
        raise UploadError(f"{filename!r} is {size / 2**20:.1f} MB; the limit is {MAX_UPLOAD_BYTES // 2**20} MB", 413)
    if size == 0:
        raise UploadError(f"{filename!r} is empty", 400)
    return name


def stoppable(items: Iterator, stop: threading.Event, poll: float = 0.1) -> Iterator:
    """The items of `items` until `stop` is set, checked every `poll` seconds even while none comes.

    The items are produced in a thread; once stopped, it closes `items` after its next item (the
    model cannot be interrupted mid-token), which releases whatever the generator holds.
    """
    box: queue.Queue = queue.Queue()
    done = object()

    def produce() -> None:
        try:
            for item in items:
                box.put(item)
                if stop.is_set():
                    break
        except BaseException as exc:  # handed to the consumer, which raises it
            box.put(exc)
        finally:
            try:
                getattr(items, "close", lambda: None)()
            finally:
                box.put(done)

    threading.Thread(target=produce, daemon=True, name="answer").start()
    while not stop.is_set():
        try:
            item = box.get(timeout=poll)
        except queue.Empty:
            continue
        if item is done:
            return
        if isinstance(item, BaseException):
            raise item
        yield item


class Library:
    """The assistant's index as one audience sees it: ask, list, view, add, remove.

    `groups` are the audience's groups: a document indexed for other groups only is never searched,
    listed, shown or removed through this library, and an upload is readable by these groups (by
    everyone when there are none).
    """

    def __init__(self, assistant, folder: Path, groups: Sequence[str] = ()):
        self.assistant = assistant
        self.store = assistant.store
        self.folder = Path(folder)
        self.groups = tuple(groups)
        self._lock = threading.Lock()  # held by index writes, and by questions until retrieval is done

    # -- questions ------------------------------------------------------------------------------

    def stream(self, question: str, history: Sequence[tuple[str, str]] = (), *,
               stop: threading.Event | None = None) -> Iterator[str | Answer]:
        """Assistant.stream, holding the index lock until its first item (retrieval comes before it).

        With `stop`, the stream ends (without an Answer) soon after the event is set.
        """
        items = self._stream(question, history)
        return items if stop is None else stoppable(items, stop)

    def _stream(self, question: str, history: Sequence[tuple[str, str]]) -> Iterator[str | Answer]:
        items = self.assistant.stream(question, history, self.groups)
        with self._lock:
            first = next(items, None)
        if first is not None:
            yield first
            yield from items

    def ask(self, question: str, history: Sequence[tuple[str, str]] = ()) -> Answer:
        for item in self.stream(question, history):
            if isinstance(item, Answer):
                return item
        raise AssertionError("stream() always ends with an Answer")

    # -- documents ------------------------------------------------------------------------------

    def documents(self) -> list[Document]:
        return [d for d in self.store.documents() if self.may_read(d)]

    def document(self, doc_id: str) -> Document | None:
        """The document, or None when it is not indexed or not readable by this audience."""
        doc = self.store.document(doc_id)
        return doc if doc is not None and self.may_read(doc) else None

    def as_reader(self, groups: Sequence[str]) -> Library:
        """This library as members of `groups` see it (the same index, lock and upload folder)."""
        view = copy.copy(self)
        view.groups = tuple(groups)
        return view

    def count(self) -> tuple[int, int]:
        """(documents, chunks) this audience may read."""
        readable = self.store.readable(self.groups)
        return self.store.count() if readable is None else self.store.count(readable)

    def versions(self, answer: Answer) -> dict[str, str]:
        """The content hash of each document the answer cites, as indexed now."""
        hashes = self.store.document_hashes()
        return {c.doc_id: hashes[c.doc_id][1] for c in answer.citations if c.doc_id in hashes}

    def changed(self, versions: dict[str, str] | None) -> set[str]:
        """Of the documents an earlier answer cited (with their hashes then), those changed or gone
        since, or no longer readable by this audience."""
        if not versions:
            return set()
        hashes = self.store.document_hashes()
        return {d for d, h in versions.items() if d not in hashes or hashes[d][1] != h or self.document(d) is None}

    def may_read(self, doc: Document) -> bool:
        return readable_by(doc.readers, self.groups)

    def is_upload(self, doc: Document) -> bool:
        return bool(doc.path) and Path(doc.path).parent == self.folder.resolve()

    def add(self, filename: str, data: bytes, progress: Progress | None = None,
            readers: Sequence[str] | None = None) -> tuple[str, IndexReport]:
        """Save and index one uploaded file; (doc_id, report). UploadError when it is refused or unreadable.

        `readers`: the groups that may read it, some of the uploader's own (default: all of them); a
        user may not hand a document to a group they are not in."""
        readers = self.groups if readers is None else tuple(readers)
        if not set(readers) <= set(self.groups) or (self.groups and not readers):
            mine = ", ".join(self.groups) or "none"
            raise UploadError(f"the document may be shared only with your own groups ({mine})", 403)
        name = check_upload(filename, len(data))
        existing = self.store.document(name)
        if existing is not None and not self.may_read(existing):
            raise UploadError(f"the name {name!r} is taken; rename the file and upload it again", 409)
        if existing is not None and not self.is_upload(existing):
            raise UploadError(f"a document named {name!r} is already indexed from {existing.path}; "
                              "rename the file and upload it again", 409)
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / name
        staged = self.folder / f".incoming-{os.getpid()}-{threading.get_ident()}{target.suffix}"
        try:
            staged.write_bytes(data)
            try:
                load_document(staged, staged)  # refuse unreadable files before they replace anything
            except LoadError as exc:
                reason = str(exc).split(": ", 1)[-1]
                raise UploadError(f"{filename!r} could not be read: {reason}", 422) from None
            with self._lock:
                os.replace(staged, target)
                report = index_path(target, self.store, self.assistant.embedder, self.assistant.config, progress,
                                    readers=readers)
        finally:
            staged.unlink(missing_ok=True)
        if report.failed:
            raise UploadError(f"{filename!r} could not be indexed: {report.failed[0][1]}", 422)
        return name, report

    def remove(self, doc_id: str) -> Document:
        """Drop a document from the index, and its file when it was uploaded; returns what was removed."""
        doc = self.document(doc_id)
        if doc is None:
            raise UploadError(f"no document {doc_id!r} in the index", 404)
        with self._lock:
            with self.store.writer() as batch:
                batch.remove(doc_id)
                batch.commit()
        if self.is_upload(doc):
            Path(doc.path).unlink(missing_ok=True)
        return doc
