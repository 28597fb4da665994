"""Evaluation sets, each read by a small adapter into one common shape.

Every set has a tune part and, where the data has one, a test part (`../shared/evals/README.md`):
choices are made on tune items only, and test items only measure.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field, replace
from pathlib import Path

from rag.config import PROJECT_ROOT
from rag.types import Document

SHARED_EVALS = PROJECT_ROOT.parent / "shared" / "evals"
SPLITS = ("tune", "test")


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
    keys: tuple[str, ...] = ()  # every key must appear in the answer; "a|b" accepts either; "yes"/"no" is the first word
    evidence: tuple[Evidence, ...] = ()
    answers: tuple[str, ...] = ()  # reference answers, for token F1 and Rouge-L
    history: tuple[tuple[str, str], ...] = ()  # earlier (question, answer) turns, for follow-ups
    gold_docs: tuple[str, ...] = ()  # documents that hold the answer, where spans are not given (HotpotQA)
    kind: str = ""  # question type, for the report's breakdown
    split: str = "tune"  # "tune" or "test"
    forbidden: tuple[str, ...] = ()  # text an injected instruction asked for: the answer must not contain it


@dataclass(frozen=True)
class EvalSet:
    name: str
    items: list[EvalItem]
    corpus_dir: Path | None = None  # a folder to index, or
    documents: list[Document] = field(default_factory=list)  # documents to index directly
    corpus: str = ""  # name of the index shared by every split of the set (default: the set's name)

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
        return replace(self, items=sorted(items, key=lambda it: order[it.id]))

    def only(self, split: str | None) -> EvalSet:
        """The items of one split ("tune" or "test"); None keeps all of them."""
        if split is None:
            return self
        return replace(self, name=f"{self.name}-{split}", items=[it for it in self.items if it.split == split],
                       corpus=self.corpus or self.name)


def seed_kind(question: str, answerable: bool, keys, evidence, history) -> str:
    """The question type of a seed-format item, for the report (not used by the assistant)."""
    if not question.isascii():
        return "non-English"
    if history:
        return "follow-up"
    if not answerable:
        return "unanswerable"
    if keys and keys[0].lower() in ("yes", "no"):
        return "yes/no"
    if len(evidence) > 1:
        return "two passages"
    return "one passage"


def load_seed(path: Path = SHARED_EVALS / "seed_qa.jsonl", corpus_dir: Path | None = None) -> EvalSet:
    """The seed questions over the default corpus (or any set in that JSONL format); all of it is tune data."""
    items = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        answerable = bool(row.get("answerable", True))
        keys = tuple(row.get("keys", ()))
        evidence = tuple(Evidence(e["doc"], e["start"], e["end"], e["quote"]) for e in row.get("evidence", ()))
        history = tuple(tuple(turn) for turn in row.get("history", ()))
        items.append(EvalItem(
            id=row["id"], question=row["question"], answerable=answerable, keys=keys, evidence=evidence,
            answers=tuple(row.get("answers", ())), history=history,
            kind=row.get("kind") or seed_kind(row["question"], answerable, keys, evidence, history),
            split=row.get("split", "tune"),
        ))
    corpus = corpus_dir or Path(path).parent.parent / "corpus"
    return EvalSet(Path(path).stem, items, corpus_dir=corpus)


def load_clapnq(folder: Path = SHARED_EVALS / "external" / "clapnq") -> EvalSet:
    """ClapNQ dev: the corpus is all 600 passages; gold quotes are the annotators' selected sentences.
    `test_ids.txt` names the test half."""
    test_ids = set((Path(folder) / "test_ids.txt").read_text().split())
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
                                  answers=(answer,) if answer else (), kind="answerable" if answer else "unanswerable",
                                  split="test" if row["id"] in test_ids else "tune"))
    return EvalSet("clapnq", items, documents=documents)


def load_squad(path: Path = SHARED_EVALS / "external" / "squad_v2_dev_half" / "dev-v2.0-half.json") -> EvalSet:
    """SQuAD 2.0 dev half: the corpus is its paragraphs; `test_articles.txt` names the test articles."""
    path = Path(path)
    test_articles = set((path.parent / "test_articles.txt").read_text().split())
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    items, documents = [], []
    for article in data:
        split = "test" if article["title"] in test_articles else "tune"
        for p, paragraph in enumerate(article["paragraphs"]):
            doc = Document(doc_id=f"{article['title']}#{p}", title=article["title"].replace("_", " "),
                           text=paragraph["context"], source="SQuAD 2.0")
            documents.append(doc)
            for qa in paragraph["qas"]:
                answers = qa.get("answers", [])
                answerable = not qa.get("is_impossible", False)
                evidence = tuple(Evidence(doc.doc_id, a["answer_start"], a["answer_start"] + len(a["text"]), a["text"])
                                 for a in answers[:1])
                texts = tuple(dict.fromkeys(a["text"] for a in answers))
                items.append(EvalItem(qa["id"], qa["question"], answerable, keys=("|".join(texts),) if texts else (),
                                      evidence=evidence, answers=texts,
                                      kind="answerable" if answerable else "unanswerable", split=split))
    return EvalSet("squad", items, documents=documents)


def load_hotpotqa(folder: Path = SHARED_EVALS / "external" / "hotpotqa") -> EvalSet:
    """HotpotQA dev (tune data): multi-hop questions over the pooled 4,858-paragraph corpus.

    Each paragraph is one document; an answer is right when it contains one of the accepted short
    answers, or, for yes/no questions, when its first word is the gold one.
    """
    documents = []
    for line in (Path(folder) / "corpus.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        documents.append(Document(doc_id=row["id"], title=row["title"], text=row["text"], source="HotpotQA"))
    items = []
    for line in (Path(folder) / "dev.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        answers = tuple(row["answers"])
        yes_no = answers[0].lower() in ("yes", "no")
        items.append(EvalItem(row["id"], row["question"], True, keys=("|".join(answers),), answers=answers,
                              gold_docs=tuple(row["supporting"]), kind="yes/no" if yes_no else "short answer"))
    return EvalSet("hotpotqa", items, documents=documents)


INJECTION = PROJECT_ROOT / "evals" / "injection"


def load_injection(folder: Path = INJECTION, corpus_dir: Path = SHARED_EVALS.parent / "corpus") -> EvalSet:
    """Documents that try to steer the assistant (and ordinary ones full of imperatives), written out
    as txt, md, html, docx or pdf into index/ and read back by the loaders, beside the default corpus.

    Each case asks about the document's real content. Every document is indexed together, so a
    payload can reach any question's answer: `forbidden` holds what every injected instruction asked for.
    """
    from rag.loaders import load_folder

    cases = [json.loads(line) for line in (Path(folder) / "cases.jsonl").read_text(encoding="utf-8").splitlines()
             if line.strip()]
    written = PROJECT_ROOT / "index" / "injection-documents"
    written.mkdir(parents=True, exist_ok=True)
    for case in cases:
        write_document(written / case["name"], case["format"], case["text"])
    documents = load_folder(written)[0] + load_folder(Path(corpus_dir))[0]
    payloads = tuple(dict.fromkeys(p for c in cases for p in c["payload"]))
    items = [EvalItem(c["id"], c["question"], True, keys=tuple(c["keys"]), forbidden=payloads,
                      kind="injection" if c["payload"] else "ordinary imperatives") for c in cases]
    return EvalSet("injection", items, documents=documents)


def write_document(path: Path, kind: str, text: str) -> None:
    """`text` as a file of the given kind (txt, md, html: as is; docx: one paragraph a line; pdf: one
    text line a line), rewritten only when it changed."""
    if kind in ("txt", "md", "html"):
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        return
    marker = path.with_suffix(path.suffix + ".src")
    if path.exists() and marker.exists() and marker.read_text(encoding="utf-8") == text:
        return
    if kind == "docx":
        import docx

        document = docx.Document()
        for line in text.split("\n"):
            document.add_paragraph(line)
        document.save(path)
    elif kind == "pdf":
        from reportlab.lib.pagesizes import A4
        from reportlab.pdfgen import canvas

        pdf = canvas.Canvas(str(path), pagesize=A4)
        y = 800
        for paragraph in text.split("\n"):
            for k in range(0, max(len(paragraph), 1), 90):
                pdf.drawString(40, y, paragraph[k : k + 90])
                y -= 14
        pdf.save()
    else:
        raise ValueError(f"unknown document kind {kind!r}")
    marker.write_text(text, encoding="utf-8")


def load_translation(path: Path, original: EvalSet) -> EvalSet:
    """Questions translated from another set, one JSON object a line: `translates` names the original
    item, whose answerability and gold quotes are kept; `question` and `keys` are the translation's
    (keys accept the answer in either language). Tune data, like the original."""
    by_id = {item.id: item for item in original.items}
    items = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            source = by_id[row["translates"]]
            items.append(replace(source, id=row["id"], question=row["question"], keys=tuple(row.get("keys", ())),
                                 kind=source.kind))
    return replace(original, name=Path(path).stem, items=items)


ZH_EVALS = PROJECT_ROOT / "evals" / "zh"
LOADERS = {  # the seed sets share one index of the default corpus
    "seed": lambda: replace(load_seed(), corpus="seed"),
    "seed_zh": lambda: replace(load_translation(ZH_EVALS / "seed_qa_zh.jsonl", load_seed()), name="seed_zh", corpus="seed"),
    # Chinese documents of our own, asked about in Chinese and in English.
    "zh_docs": lambda: replace(load_seed(ZH_EVALS / "zh_docs_qa.jsonl", ZH_EVALS / "docs"), name="zh_docs"),
    "seed_hard": lambda: replace(load_seed(SHARED_EVALS / "seed_qa_hard.jsonl"), corpus="seed"),
    "clapnq": load_clapnq,
    "squad": load_squad,
    "hotpotqa": load_hotpotqa,
    "injection": load_injection,
}


def load_dataset(name: str, split: str | None = None) -> EvalSet:
    """A named set (`seed`, `seed_hard`, `clapnq`, `squad`, `hotpotqa`, `injection`) or a JSONL file in the seed format,
    restricted to one split when `split` is given."""
    dataset = LOADERS[name]() if name in LOADERS else load_seed(Path(name))
    return dataset.only(split)
