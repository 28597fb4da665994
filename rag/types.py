"""Plain frozen data passed between the pipeline's stages."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Document:
    """One loaded file. Every offset in the project points into `text`."""

    doc_id: str  # path relative to the indexed folder, with forward slashes
    title: str
    text: str
    source: str = ""  # publisher or origin, from MANIFEST.json when the folder has one
    date: str = ""
    path: str = ""  # absolute path of the file it was read from


@dataclass(frozen=True)
class Chunk:
    """A span of a document; invariant: document.text[start:end] == text."""

    doc_id: str
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its scores; `score` is the one results are ranked by."""

    chunk_id: int
    doc_id: str
    start: int
    end: int
    text: str
    score: float
    title: str = ""
    dense_score: float | None = None  # cosine similarity, when the dense retriever found it
    bm25_score: float | None = None  # SQLite FTS5 bm25, negated so that higher is better
    dense_rank: int | None = None
    bm25_rank: int | None = None


@dataclass(frozen=True)
class IndexReport:
    """What one `index` run did."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    chunks_embedded: int = 0
