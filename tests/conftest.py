"""Shared fixtures: a deterministic fake embedder and a small toy corpus written per test."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pytest

from rag.config import Config

TOY = {
    "solar.txt": "Solar panels convert sunlight into electricity. The plant in Nevada produced 40 megawatts in 2024.\n\n"
    "Its operator plans to double capacity by 2027, subject to grid approval.",
    "rail.md": "# High-speed rail\n\nThe new line cuts the journey from 5 hours to 2 hours. Trains run every 20 minutes.\n\n"
    "Construction cost 12 billion euros and took seven years.",
    "coffee.txt": "Coffee prices rose 18% last quarter after poor harvests in Brazil. Roasters passed on part of the cost.",
    "library.md": "# City library\n\nThe central library opens at 9 am and closes at 8 pm. Members may borrow twelve books at a time.",
    "robots.txt": "Warehouse robots sorted 1.2 million parcels a day during the holiday peak, a record for the company.",
    "whales.txt": "Blue whales are the largest animals ever known. An adult can weigh up to 150 tonnes.",
}


class FakeEmbedder:
    """Bag of hashed words: texts sharing words get similar unit vectors. Counts its calls."""

    name = "fake-hash"

    def __init__(self, dim: int = 64, window: int = 256):
        self.dim = dim
        self.window = window
        self.encoded: list[str] = []

    def _word(self, word: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")
        return np.random.default_rng(seed).standard_normal(self.dim)

    def encode(self, texts: list[str]) -> np.ndarray:
        self.encoded.extend(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            v = sum((self._word(w) for w in re.findall(r"\w+", text.lower())), np.zeros(self.dim))
            norm = np.linalg.norm(v)
            out[i] = v / norm if norm else v
        return out

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self.encode(texts)

    def count_tokens(self, text: str) -> int:
        return len(re.findall(r"\w+|[^\w\s]", text)) + 2


@pytest.fixture
def toy_corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    root.mkdir()
    for name, text in TOY.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return Config(index_dir=tmp_path / "index", corpus_dir=tmp_path / "corpus", chunk_tokens=40, chunk_overlap=10)


@pytest.fixture
def store(config: Config, embedder: FakeEmbedder):
    from rag.store import Store

    s = Store(config.index_dir, embedder=embedder.name, dim=embedder.dim, exact_limit=config.exact_limit)
    yield s
    s.close()


class ScriptedGenerator:
    """Replays queued replies, streamed a few characters at a time, and queued judge verdicts
    (P(yes), default 1.0); records the prompts it got."""

    name = "scripted"

    def __init__(self, *replies: str, verdicts: tuple[float, ...] = ()):
        self.replies = list(replies)
        self.verdicts = list(verdicts)
        self.prompts: list[list[dict]] = []
        self.judged: list[list[dict]] = []

    def stream(self, messages, *, max_tokens=256):
        self.prompts.append(messages)
        reply = self.replies.pop(0) if self.replies else "NOT_FOUND"
        for i in range(0, len(reply), 4):
            yield reply[i : i + 4]

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def first_token_probabilities(self, messages) -> dict[str, float]:
        """A judge's prompt gets the next verdict as P(yes); an answer prompt, its next reply's start."""
        from rag.prompting import render

        if messages[0]["content"] in (render("support_system"), render("answers_system"), render("verdict_system")):
            self.judged.append(messages)
            verdict = self.verdicts.pop(0) if self.verdicts else 1.0
            return {"yes": verdict, "no": 1.0 - verdict}
        reply = self.replies[0] if self.replies else "NOT_FOUND"
        return {"NOT": 1.0} if reply.startswith("NOT_FOUND") else {reply[:3]: 1.0}


@pytest.fixture
def make_assistant(toy_corpus, store, embedder, config):
    """An Assistant over the indexed toy corpus whose model says the given replies."""
    import dataclasses

    from rag.indexing import index_path
    from rag.pipeline import Assistant

    index_path(toy_corpus, store, embedder, config)

    def make(*replies: str, verdicts: tuple[float, ...] = (), **overrides):
        # The split by subject is a model call of its own: off unless a test scripts its reply.
        cfg = dataclasses.replace(config, **{"min_dense_score": 0.0, "judge": False, "subquestions": False,
                                             **overrides})
        return Assistant(cfg, store, embedder, ScriptedGenerator(*replies, verdicts=verdicts))

    return make
