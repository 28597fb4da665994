"""Plain frozen data passed between the pipeline's stages."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Document:
    """One loaded file. Every offset in the project points into `text`."""

    doc_id: str  # path relative to the indexed folder, with forward slashes
    title: str
    text: str
    source: str = ""  # publisher or origin, from MANIFEST.json when the folder has one
    date: str = ""
    path: str = ""  # absolute path of the file it was read from
    readers: tuple[str, ...] = ()  # the groups that may read it; () means everyone


def readable_by(readers: Iterable[str], groups: Iterable[str]) -> bool:
    """Whether a member of `groups` may read a document with these `readers` (none: everyone)."""
    readers = set(readers)
    return not readers or bool(readers & set(groups))


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


@dataclass(frozen=True)
class Passage:
    """A numbered passage shown to the model: the most relevant sentences of a retrieved chunk."""

    n: int  # the number the model cites, [n], 1-based
    doc_id: str
    title: str
    start: int  # offsets of `text` in the document
    end: int
    text: str
    source: str = ""
    date: str = ""


@dataclass(frozen=True)
class Citation:
    """A checked citation: `quote` is document.text[start:end] and supports the sentence citing it."""

    n: int  # passage number, as written in the answer
    doc_id: str
    title: str
    start: int
    end: int
    quote: str
    passage_start: int  # the cited passage's span in the same document, which contains the quote
    passage_end: int
    source: str = ""
    date: str = ""


@dataclass(frozen=True)
class Sentence:
    """One sentence of the answer, with the passages it cites and whether they support it."""

    text: str
    cites: tuple[int, ...]
    supported: bool
    score: float = 0.0  # lexical and embedding match with the best supporting passage sentence (0..1)
    judged: float | None = None  # the judge's highest P(the passage states it), when it was asked
    quotes: tuple[int, ...] = ()  # positions, in check_answer's list of citations, of those supporting it
    responds: float | None = None  # the answers judge's P(this sentence alone responds to the question)
    set_aside: bool = False  # supported, but dropped from an answer of several sentences as off the question


@dataclass(frozen=True)
class Try:
    """One attempt at a question, as Assistant.stream made it: the first over the selected passages,
    then, when nothing held up, the escalation's (wide, single_chunk, verdict, both_sides, part,
    by_parts). What each costs and what it answers is what the eval report's tries table sums."""

    stage: str
    passages: int  # passages shown to the model
    declining: float | None  # the model's P(its reply starts NOT_FOUND), when read before writing
    answered: bool  # something held up and responds to the question (a part answers its own)
    seconds: float


@dataclass(frozen=True)
class Answer:
    question: str
    text: str  # the answer as shown: supported sentences with their [n] markers, or the refusal
    refused: bool
    citations: tuple[Citation, ...] = ()
    unsupported: tuple[str, ...] = ()  # sentences the cited passages did not support (dropped from text)
    sentences: tuple[Sentence, ...] = ()
    passages: tuple[Passage, ...] = ()  # what the model was given
    hits: tuple[Hit, ...] = ()  # what retrieval returned, with dense, BM25 and fused scores
    query: str = ""  # the standalone query used for retrieval (rewritten from follow-ups)
    raw: str = ""  # the model's reply before checking
    relevance: float | None = None  # the judge's P(the answer responds to the question), when asked
    declining: float | None = None  # the model's P(the reply starts NOT_FOUND), when the verifier is on
    timings: dict = field(default_factory=dict)  # seconds: retrieval, first_token, total, ...
    tries: tuple[Try, ...] = ()  # every attempt made, in order
    answered_by: str = ""  # the stage of the try whose answer is shown (Try.stage; "picked": by_parts' pick)

    def to_json(self) -> dict:
        """The object `rag ask --json` prints and POST /api/ask returns."""
        return {
            "question": self.question,
            "query": self.query,
            "answer": self.text,
            "refused": self.refused,
            "citations": [
                {"n": c.n, "doc_id": c.doc_id, "title": c.title, "start": c.start, "end": c.end, "quote": c.quote,
                 "passage_start": c.passage_start, "passage_end": c.passage_end, "source": c.source, "date": c.date}
                for c in self.citations
            ],
            "unsupported": list(self.unsupported),
            "sentences": [{"text": s.text, "supported": s.supported, "cites": list(s.cites), "judged": s.judged,
                           "responds": s.responds, "set_aside": s.set_aside}
                          for s in self.sentences],
            "relevance": self.relevance,
            "declining": self.declining,
            "passages": [
                {"n": p.n, "doc_id": p.doc_id, "title": p.title, "start": p.start, "end": p.end, "text": p.text}
                for p in self.passages
            ],
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "tries": [asdict(t) for t in self.tries],
            "answered_by": self.answered_by,
        }
