"""Evaluation sets, each read by a small adapter into one common shape."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from rag.config import PROJECT_ROOT
from rag.types import Document

SHARED_EVALS = PROJECT_ROOT.parent / "shared" / "evals"


@dataclass(frozen=True)
class Evidence:
    """A gold span: document.text[start:end] == quote."""

    doc_id: str
    start: int
    end: int
    quote: str


@dataclass(frozen=True)
class EvalItem:
    id: str
    question: str
    answerable: bool
    keys: tuple[str, ...] = ()  # every key must appear in the answer; "a|b" accepts either
    evidence: tuple[Evidence, ...] = ()
    answers: tuple[str, ...] = ()  # reference answers, for token F1 and Rouge-L
    history: tuple[tuple[str, str], ...] = ()  # earlier (question, answer) turns, for follow-ups


@dataclass(frozen=True)
class EvalSet:
    name: str
    items: list[EvalItem]
    corpus_dir: Path | None = None  # a folder to index, or
    documents: list[Document] = field(default_factory=list)  # documents to index directly

    def sample(self, limit: int | None, seed: int = 0) -> EvalSet:
        """A fixed random subset of `limit` items, answerable and unanswerable in their proportions."""
        if not limit or limit >= len(self.items):
            return self
        rng = random.Random(seed)
        answerable = [it for it in self.items if it.answerable]
        others = [it for it in self.items if not it.answerable]
        take = round(limit * len(answerable) / len(self.items))
        items = rng.sample(answerable, take) + rng.sample(others, limit - take)
        order = {item.id: i for i, item in enumerate(self.items)}
        return EvalSet(self.name, sorted(items, key=lambda it: order[it.id]), self.corpus_dir, self.documents)


def load_seed(path: Path = SHARED_EVALS / "seed_qa.jsonl", corpus_dir: Path | None = None) -> EvalSet:
    """The seed questions over the default corpus (or any set in that JSONL format)."""
    items = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        items.append(EvalItem(
            id=row["id"],
            question=row["question"],
            answerable=bool(row.get("answerable", True)),
            keys=tuple(row.get("keys", ())),
            evidence=tuple(Evidence(e["doc"], e["start"], e["end"], e["quote"]) for e in row.get("evidence", ())),
            answers=tuple(row.get("answers", ())),
            history=tuple(tuple(turn) for turn in row.get("history", ())),
        ))
    corpus = corpus_dir or Path(path).parent.parent / "corpus"
    return EvalSet(Path(path).stem, items, corpus_dir=corpus)


def load_clapnq(folder: Path = SHARED_EVALS / "external" / "clapnq") -> EvalSet:
    """ClapNQ dev: the corpus is all 600 passages; gold quotes are the annotators' selected sentences."""
    items, documents = [], []
    for name in ("dev_answerable.jsonl", "dev_unanswerable.jsonl"):
        for line in (Path(folder) / name).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            passage = row["passages"][0]
            doc = Document(doc_id=row["id"], title=passage["title"], text=passage["text"], source="ClapNQ")
            documents.append(doc)
            output = row["output"][0] if row.get("output") else {}
            evidence = []
            for sentence in output.get("selected_sentences", []):
                start = doc.text.find(sentence)
                if start >= 0:
                    evidence.append(Evidence(doc.doc_id, start, start + len(sentence), sentence))
            answer = output.get("answer", "")
            items.append(EvalItem(row["id"], row["input"], bool(answer), evidence=tuple(evidence),
                                  answers=(answer,) if answer else ()))
    return EvalSet("clapnq", items, documents=documents)


def load_squad(path: Path = SHARED_EVALS / "external" / "squad_v2_dev_half" / "dev-v2.0-half.json") -> EvalSet:
    """SQuAD 2.0 dev half: the corpus is its paragraphs; unanswerable questions included."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    items, documents = [], []
    for article in data:
        for p, paragraph in enumerate(article["paragraphs"]):
            doc = Document(doc_id=f"{article['title']}#{p}", title=article["title"].replace("_", " "),
                           text=paragraph["context"], source="SQuAD 2.0")
            documents.append(doc)
            for qa in paragraph["qas"]:
                answers = qa.get("answers", [])
                evidence = tuple(Evidence(doc.doc_id, a["answer_start"], a["answer_start"] + len(a["text"]), a["text"])
                                 for a in answers[:1])
                items.append(EvalItem(qa["id"], qa["question"], not qa.get("is_impossible", False),
                                      evidence=evidence, answers=tuple(dict.fromkeys(a["text"] for a in answers))))
    return EvalSet("squad", items, documents=documents)


def load_dataset(name: str) -> EvalSet:
    """`seed`, `clapnq`, `squad`, or the path of a JSONL file in the seed format."""
    loaders = {"seed": load_seed, "clapnq": load_clapnq, "squad": load_squad}
    if name in loaders:
        return loaders[name]()
    return load_seed(Path(name))
