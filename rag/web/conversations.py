"""Conversations that last: each user's questions and checked answers, kept in SQLite beside the index.

An answer is stored whole (citations with their quotes and offsets, passages, the retrieval rows),
with the content hash of every document it cites, so that a conversation reopened after a reload
or a restart shows its sources as they were, and says so when a document changed or went away
instead of marking the wrong words.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import sqlite3
import threading
import time
from pathlib import Path

from rag.config import Config
from rag.types import Answer, Citation, Hit, Passage, Sentence, Try

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY, user TEXT NOT NULL, title TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_user ON conversations(user, updated);
CREATE TABLE IF NOT EXISTS turns (
    conversation TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE, position INTEGER NOT NULL,
    question TEXT NOT NULL, answer TEXT NOT NULL, versions TEXT NOT NULL, created REAL NOT NULL,
    PRIMARY KEY (conversation, position)
);
"""
TITLE_CHARS = 80


def conversations_path(config: Config) -> Path:
    """Beside the index folder, like the feedback database."""
    return Path(config.index_dir).parent / "conversations.sqlite"


@dataclasses.dataclass(frozen=True)
class Saved:
    """One stored turn: the question, its checked answer, and the cited documents' hashes then."""

    question: str
    answer: Answer
    versions: dict[str, str]  # doc_id -> content hash when the answer was given


class Conversations:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.executescript(SCHEMA)
        self._lock = threading.Lock()

    def add(self, user: str, conversation: str | None, answer: Answer, versions: dict[str, str]) -> str:
        """Append a turn to the user's conversation (a new one when `conversation` is None or not
        theirs); returns the conversation's id."""
        now = time.time()
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                if conversation is None or not self._owns(user, conversation):
                    conversation = secrets.token_hex(8)
                    title = " ".join(answer.question.split())
                    title = title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1] + "…"
                    self.db.execute("INSERT INTO conversations VALUES (?, ?, ?, ?, ?)",
                                    (conversation, user, title, now, now))
                position = self.db.execute("SELECT count(*) FROM turns WHERE conversation = ?",
                                           (conversation,)).fetchone()[0]
                self.db.execute("INSERT INTO turns VALUES (?, ?, ?, ?, ?, ?)",
                                (conversation, position, answer.question, json.dumps(dataclasses.asdict(answer)),
                                 json.dumps(versions), now))
                self.db.execute("UPDATE conversations SET updated = ? WHERE id = ?", (now, conversation))
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
        return conversation

    def list(self, user: str) -> list[dict]:
        """The user's conversations, newest first: id, title, updated (seconds since the epoch)."""
        rows = self.db.execute("SELECT id, title, updated FROM conversations WHERE user = ? "
                               "ORDER BY updated DESC, rowid DESC", (user,))
        return [{"id": i, "title": t, "updated": u} for i, t, u in rows]

    def load(self, user: str, conversation: str) -> list[Saved] | None:
        """The turns of one of the user's conversations, oldest first; None when it is not theirs."""
        if not self._owns(user, conversation):
            return None
        rows = self.db.execute("SELECT question, answer, versions FROM turns WHERE conversation = ? ORDER BY position",
                               (conversation,))
        return [Saved(q, answer_from_dict(json.loads(a)), json.loads(v)) for q, a, v in rows]

    def delete(self, user: str, conversation: str) -> bool:
        with self._lock:
            if not self._owns(user, conversation):
                return False
            self.db.execute("DELETE FROM conversations WHERE id = ?", (conversation,))
        return True

    def _owns(self, user: str, conversation: str) -> bool:
        return self.db.execute("SELECT 1 FROM conversations WHERE id = ? AND user = ?",
                               (conversation, user)).fetchone() is not None

    def close(self) -> None:
        self.db.close()


def answer_from_dict(data: dict) -> Answer:
    """The Answer that dataclasses.asdict turned into `data`."""
    return Answer(**{
        **data,
        "citations": tuple(Citation(**c) for c in data["citations"]),
        "unsupported": tuple(data["unsupported"]),
        "sentences": tuple(Sentence(**{**s, "cites": tuple(s["cites"]), "quotes": tuple(s["quotes"])})
                           for s in data["sentences"]),
        "passages": tuple(Passage(**p) for p in data["passages"]),
        "hits": tuple(Hit(**h) for h in data["hits"]),
        "tries": tuple(Try(**t) for t in data.get("tries", ())),  # absent from answers saved before it
    })
