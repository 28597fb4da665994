"""The baseline every quality figure is compared with: a naive RAG on the same index and model.

Top 4 whole chunks, one plain prompt, no checking: it answers more and invents more. It has the
assistant's `ask` so that the same eval loop scores both.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from rag.config import Config
from rag.embedding import Embedder
from rag.generation import Generator, generate
from rag.prompting import render
from rag.retrieval import Retriever
from rag.store import Store
from rag.types import Answer, Passage

CHUNKS = 4


@dataclass
class NaiveRAG:
    config: Config
    store: Store
    embedder: Embedder
    generator: Generator

    def ask(self, question: str, history: Sequence[tuple[str, str]] = ()) -> Answer:
        started = time.perf_counter()
        query = " ".join([*(q for q, _ in history[-1:]), question])
        hits = Retriever(self.store, self.embedder, self.config).search(query, CHUNKS)
        passages = [Passage(n, h.doc_id, h.title, h.start, h.end, h.text) for n, h in enumerate(hits, 1)]
        listed = "\n\n".join(render("passage", n=p.n, title=p.title, text=" ".join(p.text.split())) for p in passages)
        messages = [{"role": "system", "content": render("naive_system")},
                    {"role": "user", "content": render("naive_user", passages=listed, question=question)}]
        raw = generate(self.generator, messages, max_tokens=self.config.max_tokens).strip()
        refused = not raw or "don't know" in raw.lower().replace("’", "'")
        return Answer(question=question, text=raw, refused=refused, passages=tuple(passages), hits=tuple(hits),
                      query=query, raw=raw, timings={"total": time.perf_counter() - started})
