"""Every tunable of the project in one frozen dataclass; the CLI overrides fields with `replace`."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value) if value else default


@dataclass(frozen=True)
class Config:
    # Folder holding the index (SQLite metadata + FAISS vectors); RAG_INDEX overrides it.
    index_dir: Path = field(default_factory=lambda: _env_path("RAG_INDEX", PROJECT_ROOT / "index" / "main"))
    # Folder indexed when none is given (the default corpus beside the project).
    corpus_dir: Path = field(default_factory=lambda: _env_path("RAG_CORPUS", PROJECT_ROOT.parent / "shared" / "corpus"))
    # Sentence-transformers model that embeds chunks and queries; recorded with the index.
    embedder: str = "all-MiniLM-L6-v2"
    # Target chunk size in tiktoken (cl100k) tokens; chunks end on sentence boundaries near it.
    chunk_tokens: int = 120
    # Tokens of trailing sentences repeated at the start of the next chunk.
    chunk_overlap: int = 30
    # The embedder's window in its own word pieces; no chunk may exceed it (MiniLM: 256).
    embed_window: int = 256
    # Texts per call to the embedder while indexing.
    embed_batch: int = 64
    # Up to this many vectors the index searches exactly; past it an IVF index is trained.
    exact_limit: int = 200_000
    # Passages returned by a search.
    top_k: int = 5
    # Candidates taken from each retriever (dense, BM25) before fusion.
    candidates: int = 50
    # Reciprocal rank fusion constant: score = sum 1 / (rrf_k + rank).
    rrf_k: int = 60

    def chunking_settings(self) -> dict:
        """The settings that decide chunk boundaries; stored with the index."""
        return {"chunk_tokens": self.chunk_tokens, "chunk_overlap": self.chunk_overlap, "embed_window": self.embed_window}
