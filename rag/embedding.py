"""Sentence embedders: the real sentence-transformers model, loaded once from its package."""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Protocol

import numpy as np

from rag.models import embedder_path


class Embedder(Protocol):
    name: str
    dim: int
    window: int  # longest input, in the embedder's own tokens, that is embedded whole

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
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

    def count_tokens(self, text: str) -> int:
        with self._lock:
            return len(self.model.tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"])


@lru_cache(maxsize=2)
def load_embedder(name: str) -> SentenceTransformerEmbedder:
    """The process-wide instance of embedder `name`."""
    return SentenceTransformerEmbedder(name)
