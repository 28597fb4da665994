"""The assistant: retrieve, prompt, generate, verify, and look further before refusing. Streaming.

A question first takes the fast path: a few short passages, one generation, the verifier. Only when
nothing holds up does it escalate once: more passages, whole chunks, and a second retrieval hop from
the first passages (a bridge question names in one passage the entity another passage is about),
and when that finds nothing either, it shows the model the first chunks one at a time.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Generator as Gen
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import cached_property, partial
from itertools import zip_longest
from typing import TypeVar

import numpy as np

from rag.citations import (BULLET, REFUSAL_TOKEN, SupportPolicy, check_answer, evidence_text, is_refusal, names_kept,
                           parse_markers, same_figures, strip_markers, with_markers)
from rag.chunking import CJK_RUN, sentence_spans
from rag.config import Config
from rag.embedding import Embedder
from rag.errors import ConfigError, IndexMissingError, QuestionError
from rag.generation import Generator, generate, refusal_share, yes_probability
from rag.language import detect, rewrite, translate
from rag.prompting import build_messages, refusal_text, render, select_passages, shown_examples, whole_passages
from rag.retrieval import Retriever
from rag.store import Store
from rag.types import Answer, Citation, Hit, Passage, Sentence, Try
from rag.verification import (Verifier, asks_both, asks_yes_no, compares_both, computed_pick, figures_agree,
                               is_comparison, lower_words, side_named_first, sides, years_backed)

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_QUESTION_CHARS = 2000
History = Sequence[tuple[str, str]]  # earlier (question, answer) turns, oldest first
Groups = Iterable[str] | None  # the asker's groups; None: may read every document
REWRITE_TOKENS = 80  # a question rewritten into another language is one line
SPLIT_TOKENS = 160  # a sentence split into its simple facts: a few short lines
# A question split by subject: at most this many subjects, each bringing this many chunks first.
MAX_SUBJECTS = 3
SUBJECT_HITS = 2
# The documents' languages are those of at least this share of them. Detection calls a few English
# passages something else (ClapNQ: 2 French and 1 Japanese of 600; HotpotQA: 1 German and 1 Russian
# of 4,858, titles of songs and films): counted, every English question would be rewritten into
# those languages, a generation each.
LANGUAGE_SHARE = 0.05
# An answer of at most this many words, in one sentence, is a fragment ("Rabat [2]"): restated as
# the sentence it stands for before it is checked (Config.restate_fragments).
FRAGMENT_WORDS = 5
# Streamed between the fast draft and the second attempt, so the reader knows the draft was set aside.
# Config.answer_language's choices (what each does: rag/config.py).
ANSWER_LANGUAGES = ("translate", "direct", "documents")
ESCALATING = "\n\n(Not confirmed by these passages; looking further…)\n\n"


def check_question(question: str) -> str:
    """The question, trimmed; QuestionError for one that cannot be answered here."""
    question = question.strip() if isinstance(question, str) else ""
    if not question:
        raise QuestionError("the question is empty: type a question about the documents")
    if len(question) > MAX_QUESTION_CHARS:
        raise QuestionError(f"the question is {len(question):,} characters long; the limit is {MAX_QUESTION_CHARS:,}")
    return question


# A capitalised word after a question's first one: a name ("Phlebodium", "Adolfo Bioy Casares").
NAME = re.compile(r"(?<=\s)[A-Z][\w.'’-]*")


def keeps_a_name(question: str, opened: str) -> bool:
    """Whether `opened` (the open question written for the yes/no `question`) keeps at least one of
    its names, or the question has none. Of the 50 HotpotQA dev yes/no questions (tune) the rewrite
    kept a name in 48 and dropped every one in 2 ("What are the names of the authors?" for "Are both
    Adolfo Bioy Casares and James Norman Hall Argentinian authors?"); the verdict drew a "No." from a
    list of other authors, right by chance (2026-12-06). Dropping some names is what it is asked to
    do: "Where are Rutgers University and Carnegie Mellon University located?" loses "America"."""
    names = {w.lower() for w in NAME.findall(question)}
    return not names or bool(names & {w.lower() for w in NAME.findall(opened)})


def is_fragment(raw: str) -> bool:
    """Whether the model's reply is a bare fragment: one sentence of at most FRAGMENT_WORDS words
    (markers aside). Words are counted between spaces, so text in a script written without them
    (Chinese, Japanese, Korean) is never taken for one."""
    if "\n" in raw.strip():  # a list or several lines: strip_markers would join them into one
        return False
    text = strip_markers(raw.replace(REFUSAL_TOKEN, "")).strip()
    if not text or CJK_RUN.search(text):
        return False
    return len(text.split()) <= FRAGMENT_WORDS and len(sentence_spans(text)) == 1


@dataclass(frozen=True)
class Attempt:
    """One pass over a set of passages: what the model wrote and what of it held up."""

    passages: tuple[Passage, ...]
    raw: str = ""
    sentences: tuple[Sentence, ...] = ()
    citations: tuple[Citation, ...] = ()
    answered: bool = False  # some sentence is supported and the answer responds to the question
    relevance: float | None = None  # the judge's P(the supported sentences answer the question)
    declining: float | None = None  # the model's P(its reply starts NOT_FOUND), read before it writes
    stage: str = ""  # which try of Assistant.stream made it (Try.stage), or "picked" (Assistant._picked)

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.sentences if s.supported)


@dataclass
class Assistant:
    """Everything a question needs, loaded once: the index, the embedder and the generator."""

    config: Config
    store: Store
    embedder: Embedder
    generator: Generator

    @property
    def retriever(self) -> Retriever:
        return Retriever(self.store, self.embedder, self.config)

    @cached_property
    def policy(self) -> SupportPolicy:
        return SupportPolicy(judge_min=self.config.support_min)

    @cached_property
    def verifier(self) -> Verifier | None:
        """The generator as judge of meaning; None when `config.judge` is off (the lexical rule alone)."""
        if not self.config.judge:
            return None
        return Verifier(partial(yes_probability, self.generator), support_examples=self.config.support_examples)

    def ask(self, question: str, history: History = (), groups: Groups = None) -> Answer:
        """The checked answer, without streaming."""
        for item in self.stream(question, history, groups):
            if isinstance(item, Answer):
                return item
        raise AssertionError("stream() always ends with an Answer")

    def stream(self, question: str, history: History = (), groups: Groups = None) -> Iterator[str | Answer]:
        """Yields the answer's text as the model writes it, then the checked Answer, last.

        With `groups` (the asker's), only documents those groups may read are searched, so no other
        passage reaches the prompt, the answer or its citations; None searches every document."""
        started = time.perf_counter()
        question = check_question(question)
        if self.store.count()[1] == 0:
            raise IndexMissingError(f"the index at {self.store.path} holds no documents: run `rag index PATH` first")
        previous = history[-1][0] if history else ""
        language = detect(question)
        # A follow-up is searched both alone and joined to the question before it, fused by rank.
        # A question in another language than the documents is searched as the generator rewrote it
        # into theirs (each of them), and as asked only if some documents share its language.
        rewrites, languages = self._rewrites(question, language, groups)
        queries = [question] if language in languages or not rewrites else []
        queries += [f"{previous} {question}"] if previous else []
        queries += rewrites
        timings = {"rewrite": time.perf_counter() - started} if rewrites else {}
        vectors = self.embedder.encode_queries(queries)
        hits = self.retriever.search_all(queries, self.config.top_k, vectors=vectors, groups=groups)
        timings["retrieval"] = time.perf_counter() - started - timings.get("rewrite", 0.0)
        query = queries[-1]
        if not self.relevant(hits):
            yield self._answer(question, query, hits, Attempt(()), timings, started, language, [])
            return
        sources = self._sources(hits)
        passages = select_passages(hits, vectors[-1], self.embedder.encode, self.generator.count_tokens,
                                   budget=self.config.passage_tokens, limit=self.config.prompt_passages,
                                   sources=sources)
        timings["prompt"] = time.perf_counter() - started - timings["retrieval"] - timings.get("rewrite", 0.0)
        tries: list[Try] = []  # every attempt of this question, in order (Answer.tries)
        attempt = yield from self._attempt(question, previous, passages, timings, started, language,
                                           stage="first", tries=tries)
        if not attempt.answered and self.config.revise and any(not s.supported for s in attempt.sentences):
            yield ESCALATING
            attempt = yield from self._attempt(question, previous, passages, timings, started, language,
                                               revising=attempt, stage="revise", tries=tries)
        if not attempt.answered and self.config.escalate and not self._sure_unanswered(attempt):
            escalated = time.perf_counter()
            if not is_refusal(attempt.raw):  # the reader saw a draft: say it is being set aside
                yield ESCALATING
            wide = self._widen(question, queries, vectors, groups, timings)
            passages = whole_passages(wide, limit=self.config.wide_passages, sources=self._sources(wide))
            second = yield from self._attempt(question, previous, passages, timings, started, language,
                                              stage="wide", tries=tries)
            timings["escalation"] = time.perf_counter() - escalated
            if second.answered:
                attempt, hits = second, wide
            elif self._compared(question) and not is_refusal(second.raw):
                # A comparison drafted from one side: ask for both sides' facts (comparisons_both).
                comparing = time.perf_counter()
                yield ESCALATING
                a, b = sides(question)
                third = yield from self._attempt(question, previous, passages, timings, started, language,
                                                 revising=second, asking=render("both_sides", a=a, b=b),
                                                 stage="both_sides", tries=tries)
                timings["both_sides"] = time.perf_counter() - comparing
                if third.answered:
                    attempt, hits = third, wide
            elif self._asks_yes_no(question):
                deciding = time.perf_counter()
                if not is_refusal(second.raw):
                    yield ESCALATING
                opened = self._open_question(question)
                third = Attempt(())
                if opened:
                    third = yield from self._attempt(opened, previous, passages, timings, started, language,
                                                     verdict_for=question, stage="verdict", tries=tries)
                timings["verdict"] = time.perf_counter() - deciding
                if third.answered:
                    attempt, hits = third, wide
            elif self.verifier is not None and self.config.single_chunks > 0:
                looking = time.perf_counter()
                if not is_refusal(second.raw):
                    yield ESCALATING
                single = yield from self._single_chunk(question, previous, hits, timings, started, language, tries)
                timings["single_chunk"] = time.perf_counter() - looking
                if single.answered:
                    attempt = single
            if not attempt.answered and self.config.by_parts and self._compared(question):
                parting = time.perf_counter()
                parted, parted_hits = yield from self._by_parts(question, previous, groups, timings, started, language,
                                                                tries)
                timings["parts"] = time.perf_counter() - parting
                if parted.answered:
                    attempt, hits = parted, parted_hits
        yield self._answer(question, query, hits, attempt, timings, started, language, tries)

    def _sure_unanswered(self, attempt: Attempt) -> bool:
        """Whether the first attempt was declined so surely (`config.escalate_below`) that looking
        further is not worth its time."""
        limit = self.config.escalate_below
        return limit is not None and attempt.declining is not None and attempt.declining >= limit

    def _open_question(self, question: str) -> str:
        """The question that asks for the facts deciding a yes/no one ("Where are the two airports?"
        for "Are both airports in Michigan?"). Asked the yes/no question itself, the model declines
        (HotpotQA dev, tune: P(NOT_FOUND) 0.29-0.49 on three whose passages it had) or writes "Yes,
        both ..." even when told to give the facts only. An open question that keeps none of the
        names the question has asks about something else, and is not used (see `keeps_a_name`)."""
        messages = shown_examples("open_question_system", "open_question_examples")
        opened = generate(self.generator, [*messages, {"role": "user", "content": question}], max_tokens=REWRITE_TOKENS)
        opened = " ".join(opened.split())
        return opened if opened.endswith("?") and not asks_yes_no(opened) and keeps_a_name(question, opened) else ""

    def _restate(self, question: str, fragment: str) -> str:
        """The sentence a fragment stands for ("The ambassador ... is based in Rabat [2]." for "Rabat
        [2]" asked where the ambassador is based), written by the model after worked examples
        (prompts/restate_examples.txt): that sentence, not the fragment, is what the checks read, so
        what the question says of the answer must be stated by the cited passage too. A fragment
        passes the word checks of any passage that names it. A reply that is not one sentence
        keeping the fragment's words and markers leaves the fragment as it was."""
        given = f"Question: {question} Answer: {' '.join(fragment.split())}"
        lines = self._lines("restate", given, REWRITE_TOKENS)
        restated = lines[0] if len(lines) == 1 else ""
        words = lambda text: {w.strip(".,;:!?()").lower() for w in strip_markers(text).split()} - {""}  # noqa: E731
        cited = lambda text: set(parse_markers(text, 0)[1])  # noqa: E731 (with 0 passages, every marker)
        keeps = words(fragment) <= words(restated) and cited(fragment) == cited(restated)
        return restated if restated and keeps else fragment

    def _split(self, sentence: str) -> list[str]:
        """The simple facts a sentence states, one sentence each (check_answer's `split`), as the
        model writes them after worked examples (prompts/split_examples.txt)."""
        return self._lines("split", sentence, SPLIT_TOKENS)

    def _lines(self, task: str, given: str, max_tokens: int) -> list[str]:
        """The model's reply to `given` after prompts/<task>_system.txt and <task>_examples.txt, one
        item per line, bullets and extra spaces removed."""
        messages = shown_examples(f"{task}_system", f"{task}_examples")
        reply = generate(self.generator, [*messages, {"role": "user", "content": given}], max_tokens=max_tokens)
        return [" ".join(BULLET.sub("", line.strip()).split()) for line in reply.splitlines() if line.strip()]

    def _asks_yes_no(self, question: str) -> bool:
        """Whether a question that found no checked answer gets the yes/no try (Config.yes_no)."""
        return self.verifier is not None and self.config.yes_no and asks_yes_no(question)

    def _rewrites(self, question: str, language: str, groups: Groups) -> tuple[list[str], set[str]]:
        """The question rewritten into each other language the asker's documents are written in, and
        those languages. On the Chinese seed questions over English documents (tune), dense evidence
        recall@5 was 0.24 as asked, 0.93 rewritten and 0.46 with both fused (MiniLM; e5-small: 0.85,
        0.98, 0.89): a ranking by a question in a language the documents lack only adds noise."""
        readable = None if groups is None else self.store.readable(groups)
        counts = self.store.languages(readable)
        total = sum(counts.values())
        languages = {lang for lang, n in counts.items() if lang and n >= LANGUAGE_SHARE * total}
        ask = partial(generate, self.generator, max_tokens=REWRITE_TOKENS)
        texts = (rewrite(question, target, ask) for target in sorted(languages - {language}))
        return [text for text in texts if text], languages

    def _passages_language(self, passages: Sequence[Passage], language: str) -> str:
        """The language most of `passages` are written in (`language` when there are none)."""
        counts = Counter(self.store.document_language(p.doc_id) for p in passages)
        return counts.most_common(1)[0][0] if counts else language

    def _translator(self, target: str, language: str) -> Callable[[str], str] | None:
        """What puts a sentence of the answer into the passages' language (`target`) before it is
        checked, so that no check (figures, word overlap, the judge) reads across two languages; None
        when the question (`language`) is in the passages' language. The model may answer in the
        question's language even when asked for the passages' own, and the other way round."""
        if target == language:
            return None
        ask = partial(generate, self.generator, max_tokens=self.config.max_tokens)
        return lambda sentence: sentence if detect(sentence) == target else translate(sentence, target, ask)

    def _for_reader(self, sentences: Sequence[Sentence], passages: Sequence[Passage], target: str,
                    language: str) -> list[Sentence]:
        """The checked sentences (in the passages' language, `target`) translated into the question's
        `language`, each with its markers. A translation is shown only if it is in that language,
        states the figures its sentence does and no other ("174亿" for "174 billion" is another one;
        "前五位" for "four of the top five" drops one), keeps the names its model may not know (in
        Latin letters, or in a form that translates back to them), and passes the checks a sentence
        written in that language passes (translated back): the translator renamed people and
        companies ("Li Qiang" became 李克强, "Unitree" 优必胜, "MiniMax" MinMax; seed_zh, tune).
        Otherwise the checked sentence itself is shown."""
        ask = partial(generate, self.generator, max_tokens=self.config.max_tokens)
        back = self._translator(target, language)
        rare = lambda word: self.generator.count_tokens(" " + word) > 1  # noqa: E731
        out = []
        for s in sentences:
            if not s.supported or detect(strip_markers(s.text)) == language:
                out.append(s)
                continue
            source = strip_markers(s.text)
            shown = translate(source, language, ask, "translate_answer_system")
            if not (shown and detect(shown) == language and same_figures(source, shown)):
                out.append(s)
                continue
            shown = strip_markers(shown)
            read_back = back(shown)  # what the checks below read too: translated once
            if names_kept(source, shown, rare, read_back):
                checked, _ = check_answer(with_markers(shown, s.cites), passages, self.embedder.encode, self.policy,
                                          judge=self.verifier.support if self.verifier else None,
                                          translate=lambda text: read_back if text == shown else back(text))
                if checked and all(c.supported for c in checked):
                    s = replace(s, text=with_markers(shown, s.cites))
            out.append(s)
        return out

    def _attempt(self, question: str, previous: str, passages: Sequence[Passage], timings: dict,
                 started: float, language: str = "en", verdict_for: str | None = None,
                 revising: Attempt | None = None, asking: str | None = None,
                 restate: bool | None = None, *, stage: str, tries: list[Try]) -> Gen[str, None, Attempt]:
        """`_read`, recorded in `tries` under `stage` (what it saw, declined and answered, and its time)."""
        began = time.perf_counter()
        attempt = yield from self._read(question, previous, passages, timings, started, language, verdict_for,
                                        revising, asking, restate)
        if passages:
            tries.append(Try(stage, len(passages), attempt.declining, attempt.answered,
                             round(time.perf_counter() - began, 3)))
        return replace(attempt, stage=stage)

    def _read(self, question: str, previous: str, passages: Sequence[Passage], timings: dict,
              started: float, language: str = "en", verdict_for: str | None = None,
              revising: Attempt | None = None, asking: str | None = None,
              restate: bool | None = None) -> Gen[str, None, Attempt]:
        """Generate over `passages` (streamed) and verify what came back. With `verdict_for`, a yes/no
        question, `question` asks for the facts that decide it: the judge draws the yes or no from the
        sentences that hold up, and the answer opens with it; without a clear one nothing is answered.
        With `revising`, an earlier attempt on the same passages, the model sees its draft and the
        sentences of it that its passages do not state (or, with `asking`, that message), and writes
        again. `restate` overrides `config.restate_fragments`."""
        if not passages:
            return Attempt(())
        mode = self.config.answer_language
        if mode not in ANSWER_LANGUAGES:
            raise ConfigError(f"answer_language {mode!r} is not one of {', '.join(ANSWER_LANGUAGES)}")
        target = self._passages_language(passages, language)
        draft = language if mode == "direct" or (mode == "translate" and language == "en") else target
        messages = build_messages(question, passages, previous, draft, asked_in=language)
        if revising is not None:
            failed = "\n".join(f"- {s.text}" for s in revising.sentences if not s.supported)
            messages += [{"role": "assistant", "content": revising.raw},
                         {"role": "user", "content": asking or render("revise", sentences=failed)}]
        generating = time.perf_counter()
        declining = None
        # The model's own estimate that these passages hold no answer (not read again when revising).
        if self.verifier is not None and revising is None:
            declining = refusal_share(self.generator.first_token_probabilities(messages), REFUSAL_TOKEN)
            if declining >= self.config.decline_from:
                timings["generation"] = timings.get("generation", 0.0) + time.perf_counter() - generating
                return Attempt(tuple(passages), REFUSAL_TOKEN, declining=declining)
        reply: list[str] = []
        yield from self._generate(messages, reply, timings, started)
        raw = "".join(reply)
        if REFUSAL_TOKEN not in raw and not strip_markers(raw).strip():  # a bare "[1]": ask for the sentence
            messages = [*messages, {"role": "assistant", "content": raw}, {"role": "user", "content": render("retry")}]
            reply = []
            yield from self._generate(messages, reply, timings, started)
            raw = "".join(reply)
        timings["generation"] = timings.get("generation", 0.0) + time.perf_counter() - generating
        if is_refusal(raw):
            return Attempt(tuple(passages), raw, declining=declining)
        if (self.config.restate_fragments if restate is None else restate) and is_fragment(raw):
            restating = time.perf_counter()
            raw = self._restate(question, raw)
            timings["restate"] = timings.get("restate", 0.0) + time.perf_counter() - restating
        checking = time.perf_counter()
        verifier = self.verifier
        sentences, citations = check_answer(raw.replace(REFUSAL_TOKEN, ""), passages, self.embedder.encode,
                                            self.policy, judge=verifier.support if verifier else None,
                                            translate=self._translator(target, language),
                                            split=self._split if verifier and self.config.split_sentences else None,
                                            parts_when_spread=self.config.parts_when_spread)
        exact = {i for i, c in enumerate(citations) if self._quote_is_exact(c)}
        sentences = [s if set(s.quotes) <= exact else replace(s, supported=False) for s in sentences]
        supported = " ".join(strip_markers(s.text) for s in sentences if s.supported)
        relevance = None
        if supported and verifier is not None:
            # The answer is judged as a whole. Judged one by one, when the whole failed, two planted
            # sentences ("The library has been sold. LIB-SOLD-5.") left their code standing alone at
            # P(yes) 0.51 as the answer to a question about flights (injection set, 2026-12-02).
            # The question alone first: shown the previous one too, the judge read a change of topic
            # as a reply to the wrong question (0.17 against 0.74, browser test). Context is needed
            # only by follow-ups that do not stand alone ("And in 2023?"), so it is a second chance.
            relevance = verifier.answer_score(question, supported)
            if previous and relevance < self.config.answers_min:
                relevance = max(relevance, verifier.answer_score(question, supported, previous))
        cited = cited_passages(sentences, citations)
        backed = self._covers(question, passages, cited) and (
            not self.config.comparisons_both
            or figures_agree(question, [strip_markers(s.text) for s in sentences if s.supported],
                             dates_needed=self.config.dated_picks_need_dates,
                             counts_needed=self.config.counted_picks_need_figures))
        answered = bool(supported and cited) and backed and (relevance is None or relevance >= self.config.answers_min)
        if answered and verifier is not None and self.config.set_aside_below is not None:
            sentences = self._set_aside(question, sentences, citations, passages)
        if answered and verdict_for is not None:  # only _asks_yes_no's try, which needs the verifier
            by_n = {p.n: evidence_text(p) for p in passages}
            facts = [(strip_markers(s.text), " ".join(by_n.get(n, "") for n in s.cites)) for s in sentences if s.supported]
            word, p_yes = self._verdict(verdict_for, facts)
            answered = word is not None
            sentences = [Sentence(word, (), True, judged=p_yes), *sentences] if word else sentences
        # The citations the supported sentences quote, and each sentence's quotes renumbered to them.
        kept = {q: i for i, q in enumerate(sorted({q for s in sentences if s.supported for q in s.quotes}))}
        citations = [citations[q] for q in kept]
        sentences = [replace(s, quotes=tuple(kept[q] for q in s.quotes if q in kept)) for s in sentences]
        timings["verification"] = timings.get("verification", 0.0) + time.perf_counter() - checking
        if answered and mode == "translate" and draft != language:
            translating = time.perf_counter()
            sentences = self._for_reader(sentences, passages, target, language)
            timings["translation"] = timings.get("translation", 0.0) + time.perf_counter() - translating
        return Attempt(tuple(passages), raw, tuple(sentences), tuple(citations), answered, relevance, declining)

    def _single_chunk(self, question: str, previous: str, hits: Sequence[Hit], timings: dict, started: float,
                      language: str, tries: list[Try]) -> Gen[str, None, Attempt]:
        """A last look when the wide attempt found nothing: the first `config.single_chunks` retrieved
        chunks, in rank order, are shown to the model one at a time, and the first it does not decline
        (P(NOT_FOUND) under `config.decline_from`) is answered from and checked like any attempt. Over
        several passages the small model declined questions whose answer sat in the first one (ClapNQ
        tune: P(NOT_FOUND) 0.77 over six passages, 0.29 over that passage alone). Rank order, not the
        chunk it is least inclined to decline: that one was a neighbour of the answer's chunk on
        seed_qa (tune), and the answer written from it passed the checks and was wrong. The attempt
        reads the decline before it writes, so a declined chunk costs one read of its prompt."""
        for hit in hits[: self.config.single_chunks]:
            passages = whole_passages([hit], limit=1, sources=self._sources([hit]))
            attempt = yield from self._attempt(question, previous, passages, timings, started, language,
                                               stage="single_chunk", tries=tries)
            if attempt.declining is None or attempt.declining < self.config.decline_from:
                return attempt
        return Attempt(())

    def _by_parts(self, question: str, previous: str, groups: Groups, timings: dict, started: float,
                  language: str, tries: list[Try]) -> Gen[str, None, tuple[Attempt, list[Hit]]]:
        """Answer a comparison between two named things part by part (`config.by_parts`): each
        side's question (`_subquestions`) is answered, unseen by the reader, over that side's own
        `SUBJECT_HITS` chunks and checked like any question. When every part holds up and their
        checked sentences give both sides' dates or figures, the answer is the side those pick
        (`_picked`); otherwise the model sees the question again over the passages the parts cite,
        with their checked sentences as its notes (the picked side's first, where there is one),
        and what it writes is streamed and checked as a whole. A part that finds nothing leaves
        the question refused."""
        parts, hits = [], []
        both = sides(question)
        names = [name for name in both if name] if self.config.parts_titled_first else []
        for sub in self._subquestions(question):
            name = next((name for name in names if name.lower() in sub.lower()), "")
            found = self._closest_each([sub], groups, [name])
            passages = whole_passages(found, limit=SUBJECT_HITS, sources=self._sources(found))
            part = quietly(self._attempt(sub, "", passages, timings, started, language,
                                         restate=self.config.restate_parts, stage="part", tries=tries))
            if not part.answered:
                return Attempt(()), []
            parts.append(part)
            hits += found
        if not parts:
            return Attempt(()), []
        facts = [[strip_markers(s.text) for s in part.sentences if s.supported] for part in parts]
        winner = computed_pick(question, [f for each in facts for f in each])
        if winner is not None:
            order = sorted(range(len(parts)), key=lambda i: side_named_first(question, facts[i]) != winner)
            parts = [parts[i] for i in order]
            if self.config.pick_from_parts:
                return self._picked(question, parts, both[winner]), hits
        passages, notes, _ = merged(parts)
        yield ESCALATING
        composed = yield from self._attempt(question, previous, passages, timings, started, language,
                                            revising=Attempt(tuple(passages), " ".join(s.text for s in notes)),
                                            asking=render("by_parts"), stage="by_parts", tries=tries)
        return composed, hits

    def _picked(self, question: str, parts: Sequence[Attempt], name: str) -> Attempt:
        """A comparison's answer from its parts' checked sentences, the side their dates or figures
        pick (`name`) said first as the answer, as a verdict says "Yes." (`config.pick_from_parts`).
        The model, shown both sides' checked birth dates, still wrote the wrong one as younger.
        The whole is judged against the question, and its cited passages must name both sides."""
        passages, sentences, citations = merged(parts)
        shown = [Sentence(f"{name}.", (), True), *sentences]
        relevance = None
        if self.verifier is not None:
            relevance = self.verifier.answer_score(question, " ".join(strip_markers(s.text) for s in shown))
        answered = (relevance is None or relevance >= self.config.answers_min) and \
            self._covers(question, passages, cited_passages(sentences, citations))
        return Attempt(tuple(passages), " ".join(s.text for s in shown), tuple(shown), tuple(citations), answered,
                       relevance, stage="picked")

    def _verdict(self, question: str, facts: Sequence[tuple[str, str]]) -> tuple[str | None, float]:
        """"Yes.", "No." or None for a yes/no question from its checked facts (each with the text of
        the passages it cites), with the P(yes) it rests on. A question whether two things both have
        a property (with `config.verdict_each_side`) is put to the judge once per thing, each with the
        facts that name it: "No." when one is clearly no; "Yes." when each is clearly yes and each
        thing's name, as its question writes it, stands in a passage one of its facts cites. The
        support judge passed "Cypress is a genus ... native to New Zealand and New Caledonia" on a
        passage about another genus "in the cypress family" (HotpotQA dev, tune). Any other
        question is judged whole."""
        each = self._each_side_questions(question) if self.config.verdict_each_side and asks_both(question) else []
        if not each:
            p_yes = self.verifier.verdict(question, " ".join(text for text, _ in facts))
            return self._verdict_word(p_yes), p_yes
        scores = []  # None for a thing no checked fact names
        named = []  # whether a passage its facts cite writes the thing's name as its question does
        for asked, written in each:
            names = {w.lower() for w in written}
            about = [(text, cited) for text, cited in facts if names <= lower_words(text)]
            scores.append(self.verifier.verdict(asked, " ".join(text for text, _ in about)) if about else None)
            named.append(any(all(re.search(rf"\b{re.escape(w)}\b", cited) for w in written) for _, cited in about))
        known = [p for p in scores if p is not None]
        no, yes = self.config.verdict_no_max, self.config.each_side_yes_min
        if no is not None and known and min(known) <= no:
            return "No.", min(known)
        if yes is not None and len(known) == len(scores) and min(known) >= yes and all(named):
            return "Yes.", min(known)
        return None, min(known, default=0.5)

    def _each_side_questions(self, question: str) -> list[tuple[str, list[str]]]:
        """The yes/no question about each of the two things `question` asks about together, as the
        model writes them (prompts/each_side_examples.txt), each with the name words, as written,
        that only it has ("Is Jimo District located in China?": ["Jimo", "District"]). Empty unless
        the reply is two yes/no questions, each with a name of its own."""
        asked = self._lines("each_side", question, REWRITE_TOKENS)
        if len(asked) != 2 or not all(q.endswith("?") and asks_yes_no(q) for q in asked):
            return []
        found = [re.findall(r"\w+", " ".join(NAME.findall(q))) for q in asked]
        other = [lower_words(" ".join(found[1])), lower_words(" ".join(found[0]))]
        written = [[w for w in words if w.lower() not in theirs] for words, theirs in zip(found, other)]
        return list(zip(asked, written)) if all(written) else []

    def _verdict_word(self, p_yes: float) -> str | None:
        """"Yes." or "No." for the verdict judge's P(yes), or None when it is not clear enough."""
        if self.config.verdict_yes_min is not None and p_yes >= self.config.verdict_yes_min:
            return "Yes."
        if self.config.verdict_no_max is not None and p_yes <= self.config.verdict_no_max:
            return "No."
        return None

    def _set_aside(self, question: str, sentences: list[Sentence], citations: Sequence[Citation],
                   passages: Sequence[Passage]) -> list[Sentence]:
        """An answer of several supported sentences, each scored alone by the answers judge, without
        those that score under `config.set_aside_below` while another scores at least that: a true
        sentence from a passage about something else pads the answer and its citations. The whole
        answer was already judged to respond; this only removes, and never the last sentence that
        responds. Kept as it was when what remains no longer covers what the question names (`_covers`)."""
        scored = [i for i, s in enumerate(sentences) if s.supported]
        if len(scored) < 2:
            return sentences
        # Each sentence is read without the judge's examples: set_aside_below was chosen on that scale.
        scores = {i: self.verifier.answer_score(question, strip_markers(sentences[i].text), examples=False)
                  for i in scored}
        out = [replace(s, responds=scores[i]) if i in scores else s for i, s in enumerate(sentences)]
        bar = self.config.set_aside_below
        if max(scores.values()) < bar:
            return out
        kept = [replace(s, supported=False, set_aside=True) if scores.get(i, 1.0) < bar else s for i, s in enumerate(out)]
        if not self._covers(question, passages, cited_passages(kept, citations)):
            return out
        return kept

    def _covers(self, question: str, passages: Sequence[Passage], cited: set[int]) -> bool:
        """The cited passages state every year the question names and, with `config.comparisons_both`,
        name both things a comparison question compares: what an answer's citations must cover, and
        what a sentence set aside may not take away."""
        evidence = [evidence_text(p) for p in passages if p.n in cited]
        return years_backed(question, evidence) and (not self.config.comparisons_both
                                                      or compares_both(question, evidence))

    def _widen(self, question: str, queries: list[str], vectors: np.ndarray, groups: Groups,
               timings: dict) -> list[Hit]:
        """More chunks for a second attempt: the question's own best ones, then those found by the
        question joined to each of its first chunks (the second hop), interleaved. A question about
        several subjects ("Who was born first, A or B?") is searched once per subject as well, and
        each subject's two chunks closest in meaning come first (Config.subquestions)."""
        k = self.config.wide_passages
        first = self.retriever.search_all(queries, k, vectors=vectors, groups=groups)
        hop = [f"{question} {h.text}" for h in first[: self.config.hop_from]]
        second = self.retriever.search_all(hop, k, groups=groups) if hop else []
        merged: dict[int, Hit] = {}
        for hit in [*self._each_side(queries[-1], groups, timings), *self._per_subject(queries[-1], groups, timings)]:
            merged.setdefault(hit.chunk_id, hit)
        for pair in zip(first, second + [None] * (len(first) - len(second))):
            for hit in pair:
                if hit is not None:
                    merged.setdefault(hit.chunk_id, hit)
        return list(merged.values())

    def _compared(self, question: str) -> bool:
        """Whether a question compares two things it names and `config.comparisons_both` asks that
        the answer rest on both ("Who was born first, A or B?")."""
        return self.config.comparisons_both and is_comparison(question) and all(sides(question))

    def _each_side(self, question: str, groups: Groups, timings: dict) -> list[Hit]:
        """With `config.comparisons_both`, for a question that compares two things it names ("Who
        was born first, A or B?"), each side's best `SUBJECT_HITS` chunks by cosine, searched by the
        question with the other side's name left out, taken in turn; [] for any other question. The
        answer must cite both sides (`compares_both`): on HotpotQA dev's 59 comparison choice
        questions (tune) both gold pages were among the wide passages for 46 without this, 55 with it."""
        if not self._compared(question):
            return []
        a, b = sides(question)
        started = time.perf_counter()
        hits = self._closest_each([question.replace(b, " "), question.replace(a, " ")], groups)
        timings["sides"] = time.perf_counter() - started
        return hits

    def _closest_each(self, queries: Sequence[str], groups: Groups, named: Sequence[str] = ()) -> list[Hit]:
        """Each query's best `SUBJECT_HITS` chunks by cosine among its fused top ones, taken in turn;
        with `named` (one name per query, "" for none), chunks of a document titled that name first
        (`titled`)."""
        picked = [sorted(self.retriever.search_all([q], self.config.wide_passages, groups=groups),
                         key=lambda h, name=name: (not titled(h.title, name), -(h.dense_score or 0.0)))[:SUBJECT_HITS]
                  for q, name in zip_longest(queries, named[: len(queries)], fillvalue="")]
        return [hit for turn in zip_longest(*picked) for hit in turn if hit is not None]

    def _per_subject(self, question: str, groups: Groups, timings: dict) -> list[Hit]:
        """For a question the model splits into one question per subject, each subject's best
        `SUBJECT_HITS` chunks by cosine among its fused top ones, taken in turn; [] for a question
        about one subject. By cosine: for a short question naming one subject, the fused ranking put
        pages that repeat its other words ("born", "located") above the subject's own page (HotpotQA
        dev, tune: "When was Virginia Woolf born?" ranked her page fourth, first by cosine)."""
        if not self.config.subquestions:
            return []
        started = time.perf_counter()
        hits = self._closest_each(self._subquestions(question), groups)
        timings["subquestions"] = time.perf_counter() - started
        return hits

    def _subquestions(self, question: str) -> list[str]:
        """One question per subject the question asks about, as the model writes them after worked
        examples (prompts/subquestions_examples.txt); [] when it names one subject."""
        subs = self._lines("subquestions", question, REWRITE_TOKENS)
        subs = list(dict.fromkeys(s for s in subs if s.endswith("?")))[:MAX_SUBJECTS]
        return subs if len(subs) > 1 else []

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

    def relevant(self, hits: Sequence[Hit]) -> bool:
        """Whether retrieval found anything close enough to be worth asking the model about."""
        if not hits:
            return False
        best_dense = max((h.dense_score for h in hits if h.dense_score is not None), default=0.0)
        return best_dense >= self.config.min_dense_score

    def _sources(self, hits: Sequence[Hit]) -> dict[str, tuple[str, str]]:
        return {d.doc_id: (d.source, d.date) for d in map(self.store.document, {h.doc_id for h in hits}) if d}

    def _quote_is_exact(self, citation) -> bool:
        doc = self.store.document(citation.doc_id)
        return doc is not None and doc.text[citation.start : citation.end] == citation.quote

    def _answer(self, question: str, query: str, hits: Sequence[Hit], attempt: Attempt, timings: dict,
                started: float, language: str, tries: Sequence[Try]) -> Answer:
        """The Answer for the attempt that is kept: its supported sentences, or a refusal."""
        timings["total"] = time.perf_counter() - started
        common = dict(question=question, passages=attempt.passages, hits=tuple(hits), query=query, raw=attempt.raw,
                      timings=timings, sentences=attempt.sentences, relevance=attempt.relevance,
                      declining=attempt.declining, tries=tuple(tries))
        if not attempt.answered:
            return Answer(text=refusal_text(language), refused=True, unsupported=tuple(s.text for s in attempt.sentences),
                          **common)
        return Answer(text=attempt.text, refused=False, citations=attempt.citations, answered_by=attempt.stage,
                      unsupported=tuple(s.text for s in attempt.sentences if not s.supported and not s.set_aside),
                      **common)


def titled(title: str, name: str) -> bool:
    """Whether a document's title is `name`, case aside and a closing "(...)" qualifier aside
    ("Dinosaur (film)" is titled "Dinosaur")."""
    return bool(name) and re.sub(r"\s*\([^()]*\)\s*$", "", title).strip().lower() == name.strip().lower()


def quietly(steps: Gen[str, None, T]) -> T:
    """Run a generator to its end without passing on what it yields, and return its value."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value


def merged(parts: Sequence[Attempt]) -> tuple[list[Passage], list[Sentence], list[Citation]]:
    """The passages that the attempts' supported sentences cite, numbered anew in order (a passage
    two of them cite, once), and those sentences with their citations, renumbered to them: markers,
    `cites`, the citations' `n` and the sentences' `quotes`."""
    at: dict[tuple[str, int, int], int] = {}
    passages: list[Passage] = []
    sentences: list[Sentence] = []
    citations: list[Citation] = []
    for part in parts:
        cited = cited_passages(part.sentences, part.citations)
        number = {}
        for p in part.passages:
            if p.n in cited:
                key = (p.doc_id, p.start, p.end)
                if key not in at:
                    at[key] = len(passages) + 1
                    passages.append(replace(p, n=at[key]))
                number[p.n] = at[key]
        quoted = {}
        for q in sorted({q for s in part.sentences if s.supported for q in s.quotes}):
            quoted[q] = len(citations)
            citations.append(replace(part.citations[q], n=number[part.citations[q].n]))
        for s in part.sentences:
            if s.supported:
                cites = tuple(number[n] for n in s.cites if n in number)
                sentences.append(replace(s, text=with_markers(strip_markers(s.text), cites), cites=cites,
                                         quotes=tuple(quoted[q] for q in s.quotes)))
    return passages, sentences, citations


def cited_passages(sentences: Sequence[Sentence], citations: Sequence[Citation]) -> set[int]:
    """The numbers of the passages quoted for the supported sentences."""
    return {citations[q].n for s in sentences if s.supported for q in s.quotes}


def load_assistant(config: Config, *, create: bool = False, embedder: Embedder | None = None,
                   store: Store | None = None, kind: type | None = None) -> Assistant:
    """The one place an assistant is built, for the CLI, the server, evals and benchmarks: the
    configured embedder, index (`create` makes an empty one; `store` is another, such as an eval
    set's) and generator backend. `kind` is another system with the same constructor (the naive RAG)."""
    from rag.embedding import load_embedder
    from rag.generation import make_generator

    embedder = embedder or load_embedder(config.embedder)
    if store is None:
        store = Store(config.index_dir, embedder=embedder.name, dim=embedder.dim, exact_limit=config.exact_limit,
                      create=create, vectors=config.vectors)
    generator = make_generator(config.backend, config.model, url=config.llm_url)
    return (kind or Assistant)(config, store, embedder, generator)
