"""A labelled claim set for the verifier, built from ClapNQ's tune and test halves.

Each answerable item gives one true claim (the first sentence of its reference answer, written by
an annotator from the passage) and the same claim made wrong in the ways a small model gets answers
wrong: another number, another year, another name, a negation, a unit swapped, a figure the passage
gives for something else, a claim that belongs to another passage, and a true claim put to another
question, and for unanswerable items the passage sentence closest to their question (stated, but
no answer). A claim counts as right only when the passage states it and it answers the question. Both
judge scores are stored per claim, so every threshold can be swept afterwards without running the
model again.

ClapNQ's reference answers seldom state a figure, so `build_seed` adds a hand-written part over the
default corpus (tune data): for ten figures in it, a true claim and the same figure said of another
subject the article names ("the national venture capital guidance fund is 3.6 trillion yuan", where
3.6 trillion is China's R&D spending). Every figure of such a claim stands in the passage, so only
the judge can refuse it.

`build_pairs` makes the same mistake where the pipeline made it on HotpotQA: a comparison question
names two subjects, each with its own paragraph, and the model gave one subject the other's figure
("Palm Springs International Airport handles approximately 399,000 passengers", read on the
Trenton-Mercer paragraph). From each such pair it takes a fact with a figure from each paragraph
(a true claim) and the same fact said of the other subject (a false one), both read on the
paragraph the fact comes from.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from rag.chunking import sentence_spans
from rag.citations import SupportPolicy, near_verbatim, numbers, overlap, window
from rag.config import PROJECT_ROOT
from rag.evals.datasets import SHARED_EVALS, EvalItem, load_clapnq, load_hotpotqa
from rag.loaders import load_folder

JUDGE_WORDS = SupportPolicy().judge_words  # the claims are judged on windows as long as the pipeline's
_UNITS = [("percent", "degrees"), ("miles", "kilometres"), ("kilometers", "miles"), ("dollars", "euros"),
          ("feet", "metres"), ("meters", "feet"), ("years", "months"), ("months", "weeks"), ("million", "billion"),
          ("billion", "million"), ("days", "years"), ("hours", "days"), ("pounds", "kilograms")]
_AUXILIARY = re.compile(r"\b(is|are|was|were|can|will|has|have|had|does|did|could|would|should)\b")
_NAME = re.compile(r"(?<=\s)[A-Z][a-z]+(?:\s[A-Z][a-z]+)*")
_NUMBER = re.compile(r"\b\d[\d,]*(?:\.\d+)?\b")


@dataclass(frozen=True)
class Claim:
    id: str
    split: str  # tune or test, from the item it was made from
    kind: str  # "true" or how it was made wrong
    question: str
    passage: str
    claim: str
    stated: bool  # the passage states the claim
    answers: bool  # the claim answers the question
    evidence: str = ""  # the passage sentence closest to the claim, as a quote would show it

    @property
    def right(self) -> bool:
        return self.stated and self.answers


def window_around(text: str, quote: str, words: int) -> str:
    """The sentences around the gold quote, at most about `words` words: what the judge reads."""
    at = max(text.find(quote), 0)
    start, end = window(text, at, at, words)
    return " ".join(text[start:end].split())


def first_sentence(text: str) -> str:
    spans = sentence_spans(text)
    return " ".join(text[spans[0][0] : spans[0][1]].split()) if spans else ""


def _is_year(figure: str) -> bool:
    return re.fullmatch(r"1[5-9]\d\d|20\d\d", figure) is not None


def perturb(claim: str, passage: str, rng: random.Random, names: list[str]) -> dict[str, str]:
    """The claim made wrong in each way that applies to it: {kind: wrong claim}."""
    out = {}
    years = [m for m in _NUMBER.finditer(claim) if _is_year(m.group())]
    others = [m for m in _NUMBER.finditer(claim) if not _is_year(m.group())]
    if years or others:  # every figure still stands in the passage: only the judge can tell it is misplaced
        m = (years or others)[0]
        stated = {f.group() for f in years + others}
        same_kind = [f.group() for f in _NUMBER.finditer(passage)
                     if f.group() not in stated and _is_year(f.group()) == _is_year(m.group())]
        if same_kind:  # the first, not a random one: the other kinds keep the claims they had
            out["passage figure"] = claim[: m.start()] + same_kind[0] + claim[m.end() :]
    if years:
        m = years[0]
        out["year"] = claim[: m.start()] + str(int(m.group()) + rng.choice([-7, -3, 4, 9])) + claim[m.end() :]
    if others:
        m = others[0]
        value = float(m.group().replace(",", ""))
        new = value * rng.choice([2, 3]) + rng.choice([1, 5])
        text = str(int(new)) if new.is_integer() else f"{new:.1f}"
        out["number"] = claim[: m.start()] + text + claim[m.end() :]
    found = [m for m in _NAME.finditer(claim)]
    replacements = [n for n in names if n.lower() not in passage.lower() and n not in claim]
    if found and replacements:
        m = found[0]
        out["entity"] = claim[: m.start()] + rng.choice(replacements) + claim[m.end() :]
    m = _AUXILIARY.search(claim)
    if m:
        out["negation"] = claim[: m.end()] + " not" + claim[m.end() :]
    for unit, other in _UNITS:
        if re.search(rf"\b{unit}\b", claim):
            out["unit"] = re.sub(rf"\b{unit}\b", other, claim, count=1)
            break
    return out


def build(split: str, limit: int, seed: int = 0) -> list[Claim]:
    """Claims from `limit` answerable ClapNQ items of one split (a fixed random sample)."""
    dataset = load_clapnq()
    texts = {d.doc_id: d.text for d in dataset.documents}
    titles = {d.doc_id: d.title for d in dataset.documents}
    items: list[EvalItem] = [it for it in dataset.items if it.split == split and it.answerable and it.evidence]
    rng = random.Random(seed)
    items = sorted(rng.sample(items, min(limit, len(items))), key=lambda it: it.id)
    bases = []
    for item in items:
        claim = first_sentence(item.answers[0])
        if len(claim.split()) < 4:
            continue
        passage = window_around(texts[item.id], item.evidence[0].quote, JUDGE_WORDS)
        bases.append((item, f"({titles[item.id]}) {passage}", claim))
    names = sorted({m.group() for _, _, c in bases for m in _NAME.finditer(c)})
    claims: list[Claim] = []
    for i, (item, passage, claim) in enumerate(bases):
        def add(kind: str, text: str, question: str = item.question, stated: bool = False, answers: bool = True):
            claims.append(Claim(f"{item.id}:{kind}", split, kind, question, passage, text, stated, answers,
                                closest_sentence(text, passage)))

        add("true", claim, stated=True)
        for kind, text in perturb(claim, passage, rng, names).items():
            add(kind, text)
        other_item, other_passage, other_claim = bases[(i + 1) % len(bases)]
        if overlap(other_claim, passage) < 0.5:
            add("other passage", other_claim)
        add("other question", claim, question=other_item.question, stated=True, answers=False)
    # On-topic non-answers: for as many unanswerable items of the half, the sentence of their passage
    # sharing most words with the question. The passage states it, and it answers nothing: the
    # pipeline's answers to ClapNQ's unanswerable questions are of this kind (they restate the
    # question), and only the answers judge can refuse them.
    unanswerable = [it for it in dataset.items if it.split == split and not it.answerable and it.id in texts]
    for item in sorted(random.Random(seed + 1).sample(unanswerable, min(limit, len(unanswerable))), key=lambda it: it.id):
        text = texts[item.id]
        spans = [(s, e) for s, e, _ in sentence_spans(text) if len(text[s:e].split()) >= 5]
        if not spans:
            continue
        s, e = max(spans, key=lambda span: overlap(item.question, text[span[0] : span[1]]))
        passage = f"({titles[item.id]}) {window_around(text, text[s:e], JUDGE_WORDS)}"
        sentence = " ".join(text[s:e].split())
        claims.append(Claim(f"{item.id}:unanswered", split, "unanswered", item.question, passage, sentence, True, False,
                            closest_sentence(sentence, passage)))
    return claims


SEED_CLAIMS = PROJECT_ROOT / "evals" / "claims" / "seed_subjects.jsonl"


def build_seed(path: Path = SEED_CLAIMS, corpus: Path = SHARED_EVALS.parent / "corpus") -> list[Claim]:
    """The hand-written claims over the default corpus: each row names a document, a phrase of it
    that centres the judge's window, a question, a claim and whether the passage states it."""
    documents = {d.doc_id: d for d in load_folder(corpus)[0]}
    claims = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        doc = documents[row["file"]]
        if row["quote"] not in doc.text:
            raise ValueError(f"{path}: {row['id']}: {row['quote']!r} is not in {row['file']}")
        passage = f"({doc.title}) {window_around(doc.text, row['quote'], JUDGE_WORDS)}"
        claims.append(Claim(f"seed:{row['id']}", "tune", row["id"].split(":")[-1], row["question"], passage,
                            row["claim"], row["stated"], True, closest_sentence(row["claim"], passage)))
    return claims


_PARENTHESES = re.compile(r"\s*\([^()]*\)")
_BORN = re.compile(r"\(born ([^;()]*?\d{4})")
_VERB = re.compile(r"\s(?:is|was|are|were|has|had)\s")
_CLAUSE_END = re.compile(r"[;.]|,(?=\s)(?!\s\d{4}\b)|$")  # "February 9, 2012" and "2,146,980" are one figure


def plain_title(title: str) -> str:
    """A Wikipedia title without its qualifier: "Snatch (film)" -> "Snatch"."""
    return _PARENTHESES.sub("", title).strip()


def fact_with_figure(title: str, text: str) -> tuple[str, str] | None:
    """(claim, the sentence as written) for the first of the paragraph's first three sentences that
    gives its subject a figure: "X was born on <date>." from "X (born <date>) is ...", or the sentence
    from its verb to the end of the clause holding the first figure, with the plain title as the
    subject (where the sentence says it of the subject or a pronoun, not "Its population was ...")."""
    subject = plain_title(title)
    for start, end, _ in sentence_spans(text)[:3]:
        raw = text[start:end]
        sentence = " ".join(raw.split())
        born = _BORN.search(sentence)
        if born:
            return f"{subject} was born on {born.group(1)}.", raw
        plain = _PARENTHESES.sub("", sentence)
        figure, verb = _NUMBER.search(plain), _VERB.search(plain)
        head = plain[: verb.start()].lower().split() if verb else []  # what the verb is said of
        if figure and verb and verb.start() < figure.start() and (head in (["it"], ["he"], ["she"], ["they"])
                                                                   or subject.lower().split()[0] in head):
            stop = _CLAUSE_END.search(plain, figure.end())
            return f"{subject} {plain[verb.start() : stop.start()].strip()}.", raw
    return None


def build_pairs(gate_limit: int = 30, seed: int = 0) -> list[Claim]:
    """Claims from the HotpotQA dev questions that name both their supporting paragraphs' subjects,
    leaving out the quality gate's sample. Half the questions (a fixed random half) are "tune", the
    other half "held": all of HotpotQA dev is tune data, so the held half is where a change fitted
    on the first is confirmed before the ClapNQ test half."""
    dataset = load_hotpotqa()
    gate = {it.id for it in dataset.sample(gate_limit, 0).items}
    documents = {d.doc_id: d for d in dataset.documents}
    bases = []
    for item in dataset.items:
        docs = [documents[d] for d in item.gold_docs]
        if item.id in gate or len(docs) != 2 or len({plain_title(d.title) for d in docs}) != 2:
            continue  # "Snatch (film)" and "Snatch (TV series)" are one name
        if not all(plain_title(d.title).lower() in item.question.lower() for d in docs):
            continue
        facts = [fact_with_figure(d.title, d.text) for d in docs]
        if all(facts):
            bases.append((item, docs, facts))
    shuffled = list(bases)
    random.Random(seed).shuffle(shuffled)
    tune = {item.id for item, _, _ in shuffled[: len(bases) // 2]}
    claims = []
    for item, docs, facts in bases:
        split = "tune" if item.id in tune else "held"
        for (doc, (claim, sentence)), other in zip(zip(docs, facts), reversed(docs)):
            passage = f"({doc.title}) {window_around(doc.text, sentence, JUDGE_WORDS)}"
            subject, swapped = plain_title(doc.title), plain_title(other.title)
            wrong = swapped + claim[len(subject) :]
            for kind, text, stated in (("true", claim, True), ("other subject", wrong, False)):
                claims.append(Claim(f"{item.id}:{doc.doc_id}:{kind}", split, kind, item.question, passage, text,
                                    stated, True, closest_sentence(text, passage)))
    return claims


def closest_sentence(claim: str, passage: str) -> str:
    spans = sentence_spans(passage)
    if not spans:
        return passage
    return max((passage[s:e] for s, e, _ in spans), key=lambda t: (overlap(claim, t), -len(t)))


def score(claims: list[Claim], verifier, on_item=None) -> list[dict]:
    """Each claim with both judge scores and the lexical figures the fast path uses. Claims of one
    item are scored together, so the judge reuses the cached passage between them."""
    support = [verifier.support(c.claim, c.passage) for c in claims]
    rows = []
    for i, c in enumerate(claims):
        rows.append({**asdict(c), "right": c.right, "support": round(support[i], 4),
                     "answer": round(verifier.answer_score(c.question, c.claim), 4),
                     "overlap": round(overlap(c.claim, c.passage), 4),
                     "verbatim": near_verbatim(c.claim, c.evidence),
                     "figures_in_passage": numbers(c.claim) <= numbers(c.passage)})
        if on_item:
            on_item(i)
    return rows


def decide(row: dict, support_min: float, answers_min: float, *, figures: bool = True, fast_path: bool = True) -> bool:
    """The verifier's verdict on a scored claim, as the pipeline reaches it: every figure in the
    passage, near-verbatim or judged stated, and judged to answer the question."""
    if figures and not row["figures_in_passage"]:
        return False
    stated = (fast_path and row["verbatim"]) or row["support"] >= support_min
    return stated and row["answer"] >= answers_min


def precision_recall(rows: list[dict], accept) -> dict:
    """Precision and recall of accepting a claim as right, and the share of each wrong kind let through."""
    accepted = [accept(r) for r in rows]
    tp = sum(a and r["right"] for a, r in zip(accepted, rows))
    positives = sum(r["right"] for r in rows)
    out = {"claims": len(rows), "precision": round(tp / max(1, sum(accepted)), 3),
           "recall": round(tp / max(1, positives), 3)}
    for kind in sorted({r["kind"] for r in rows if not r["right"]}):
        group = [a for a, r in zip(accepted, rows) if r["kind"] == kind]
        out[f"passed: {kind}"] = f"{sum(group)}/{len(group)}"
    return out
