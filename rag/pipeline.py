"""The assistant: retrieve, prompt, generate, check citations, or refuse. One function, streaming."""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from rag.citations import REFUSAL_TOKEN, SupportPolicy, check_answer, content_words, is_refusal, strip_markers
from rag.config import Config
from rag.embedding import Embedder
from rag.errors import IndexMissingError, QuestionError
from rag.generation import Generator, generate
from rag.prompting import build_messages, render, select_passages
from rag.retrieval import Retriever
from rag.store import Store
from rag.types import Answer, Hit

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000
History = Sequence[tuple[str, str]]  # earlier (question, answer) turns, oldest first

_FOLLOW_UP = re.compile(
    r"^(and|but|also|so|what about|how about|then)\b|\b(it|its|they|them|their|this|that|these|those|he|she|his|her|"
    r"there|the same)\b",
    re.IGNORECASE,
)
_FOREIGN_WORDS = set(
    "el la los las del que por para qué cuál cómo est les des une qui quel quelle quels comment pourquoi der die das "
    "und ist wie wer nicht ein eine il di che per sono não uma".split()
)
_ENGLISH_WORDS = set("the a an is are was were what who how which when where why of in on to do does did".split())


def check_question(question: str) -> str:
    """The question, trimmed; QuestionError for one that cannot be answered here."""
    question = question.strip() if isinstance(question, str) else ""
    if not question:
        raise QuestionError("the question is empty: type a question about the documents")
    if len(question) > MAX_QUESTION_CHARS:
        raise QuestionError(f"the question is {len(question):,} characters long; the limit is {MAX_QUESTION_CHARS:,}")
    letters = [ch for ch in question if ch.isalpha()]
    latin = sum("LATIN" in unicodedata.name(ch, "") for ch in letters)
    words = re.findall(r"[^\W\d_]+", question.lower())
    foreign = sum(w in _FOREIGN_WORDS for w in words) > sum(w in _ENGLISH_WORDS for w in words)
    if (letters and latin / len(letters) < 0.5) or foreign:
        raise QuestionError("only questions in English are supported: the documents and models are English")
    return question


_QUANTITY = re.compile(r"^\s*(how (much|many|large|big|fast|quickly|long|old|high|far|often)|what (percentage|share|proportion|amount))\b", re.I)
_WHEN = re.compile(r"^\s*(when|in what year|what year|which year)\b", re.I)
_NUMBER = re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozen|hundred|thousand|"
                     r"million|billion|trillion|half|double|twice|triple)\b", re.I)
_DATE = re.compile(r"\d|\b(january|february|march|april|may|june|july|august|september|october|november|december|"
                   r"spring|summer|autumn|fall|winter|year|month|week|weekdays?|weekends?|day|daily|today|yesterday|"
                   r"tomorrow|recently|ago|noon|midnight|morning|afternoon|evening|night|am|pm|before|after|during|"
                   r"since|until)\b", re.I)


def addresses(question: str, answer: str) -> bool:
    """Whether an answer has the kind of content its question asks for: a figure for "how much",
    a time for "when". Supported sentences that miss it do not answer the question. A number
    written in words counts only when it counts something the question names ("twelve books" for
    "how many books", not "the two sessions" for "how large is the fund")."""
    answer = strip_markers(answer)
    if _QUANTITY.search(question):
        if re.search(r"\d", answer):
            return True
        asked = content_words(question)
        for match in _NUMBER.finditer(answer):
            if content_words(" ".join(answer[match.end() :].split()[:3])) & asked:
                return True
        return False
    if _WHEN.search(question):
        return bool(_DATE.search(answer))
    return True


def standalone_query(question: str, history: History) -> tuple[str, str]:
    """(retrieval query, previous question) for a turn of a conversation.

    A follow-up ("and how fast did it grow?") is short or refers back; the retrieval query then
    joins the previous question to it, and the prompt mentions that question. No generation needed.
    """
    if not history:
        return question, ""
    previous = history[-1][0]
    if len(question.split()) <= 5 or _FOLLOW_UP.search(question):
        return f"{previous} {question}", previous
    return question, ""


@dataclass
class Assistant:
    """Everything a question needs, loaded once: the index, the embedder and the generator."""

    config: Config
    store: Store
    embedder: Embedder
    generator: Generator
    policy: SupportPolicy = SupportPolicy()

    @property
    def retriever(self) -> Retriever:
        return Retriever(self.store, self.embedder, self.config)

    def ask(self, question: str, history: History = ()) -> Answer:
        """The checked answer, without streaming."""
        for item in self.stream(question, history):
            if isinstance(item, Answer):
                return item
        raise AssertionError("stream() always ends with an Answer")

    def stream(self, question: str, history: History = ()) -> Iterator[str | Answer]:
        """Yields the answer's text as the model writes it, then the checked Answer, last."""
        started = time.perf_counter()
        question = check_question(question)
        if self.store.count()[1] == 0:
            raise IndexMissingError(f"the index at {self.store.path} holds no documents: run `rag index PATH` first")
        query, previous = standalone_query(question, history)
        query_vector = self.embedder.encode([query])[0]
        hits = self.retriever.search(query, self.config.top_k, vector=query_vector)
        timings = {"retrieval": time.perf_counter() - started}
        if not self.relevant(hits):
            yield self._refusal(question, query, hits, (), "", timings, started)
            return
        sources = {d.doc_id: (d.source, d.date) for d in map(self.store.document, {h.doc_id for h in hits}) if d}
        passages = select_passages(hits, query_vector, self.embedder.encode, self.generator.count_tokens,
                                   budget=self.config.passage_tokens, limit=self.config.prompt_passages, sources=sources)
        messages = build_messages(question, passages, previous)
        timings["prompt"] = time.perf_counter() - started - timings["retrieval"]
        reply: list[str] = []
        yield from self._generate(messages, reply, timings, started)
        raw = "".join(reply)
        if REFUSAL_TOKEN not in raw and not strip_markers(raw).strip():  # a bare "[1]": ask for the sentence
            messages = [*messages, {"role": "assistant", "content": raw}, {"role": "user", "content": render("retry")}]
            reply = []
            yield from self._generate(messages, reply, timings, started)
            raw = "".join(reply)
        timings["generation"] = time.perf_counter() - started - timings.get("first_token", 0.0)
        checking = time.perf_counter()
        if is_refusal(raw):
            yield self._refusal(question, query, hits, passages, raw, timings, started)
            return
        sentences, citations = check_answer(raw.replace(REFUSAL_TOKEN, ""), passages, self.embedder.encode, self.policy,
                                             judge=self.judge if self.config.judge else None)
        citations = [c for c in citations if self._quote_is_exact(c)]
        supported = [s for s in sentences if s.supported]
        timings["verification"] = time.perf_counter() - checking
        shown = " ".join(x.text for x in supported)
        if not supported or not citations or not addresses(question, shown):
            yield self._refusal(question, query, hits, passages, raw, timings, started,
                                unsupported=tuple(s.text for s in sentences))
            return
        timings["total"] = time.perf_counter() - started
        yield Answer(
            question=question, text=shown, refused=False, citations=tuple(citations),
            unsupported=tuple(s.text for s in sentences if not s.supported), sentences=tuple(sentences),
            passages=tuple(passages), hits=tuple(hits), query=query, raw=raw, timings=timings,
        )

    def _generate(self, messages, reply: list[str], timings: dict, started: float) -> Iterator[str]:
        """Streams the model's reply (all of it appended to `reply`), except a refusal token."""
        held = ""
        for piece in self.generator.stream(messages, max_tokens=self.config.max_tokens):
            timings.setdefault("first_token", time.perf_counter() - started)
            reply.append(piece)
            held += piece
            if REFUSAL_TOKEN.startswith(held.strip()) or held.strip().startswith(REFUSAL_TOKEN):
                continue
            yield held
            held = ""

    def judge(self, claim: str, passage: str) -> bool:
        """Ask the generator whether `passage` states `claim` (one word back)."""
        messages = [{"role": "system", "content": render("judge_system")},
                    {"role": "user", "content": render("judge_user", passage=" ".join(passage.split()), claim=claim)}]
        verdict = generate(self.generator, messages, max_tokens=4).strip().upper()
        return verdict.startswith("SUPPORTED")

    def relevant(self, hits: Sequence[Hit]) -> bool:
        """Whether retrieval found anything close enough to be worth asking the model about."""
        if not hits:
            return False
        best_dense = max((h.dense_score for h in hits if h.dense_score is not None), default=0.0)
        return best_dense >= self.config.min_dense_score

    def _quote_is_exact(self, citation) -> bool:
        doc = self.store.document(citation.doc_id)
        return doc is not None and doc.text[citation.start : citation.end] == citation.quote

    def _refusal(self, question, query, hits, passages, raw, timings, started, unsupported=()) -> Answer:
        timings["total"] = time.perf_counter() - started
        return Answer(question=question, text=render("refusal"), refused=True, unsupported=unsupported,
                      passages=tuple(passages), hits=tuple(hits), query=query, raw=raw, timings=timings)


def load_assistant(config: Config) -> Assistant:
    """The assistant over the configured index, with the configured generator backend."""
    from rag.embedding import load_embedder
    from rag.generation import make_generator

    embedder = load_embedder(config.embedder)
    store = Store(config.index_dir, embedder=embedder.name, dim=embedder.dim, exact_limit=config.exact_limit,
                  create=False)
    generator = make_generator(config.backend, config.model, url=config.llm_url)
    return Assistant(config, store, embedder, generator)
