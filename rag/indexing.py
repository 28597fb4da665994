"""Bring an index up to date with a folder: embed new and changed documents, drop deleted ones."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Protocol

import numpy as np

from rag.chunking import SPLITTER_VERSION, chunk_document
from rag.config import Config
from rag.embedding import Embedder
from rag.errors import ConfigError
from rag.loaders import load_folder
from rag.store import Store
from rag.types import Chunk, Document, IndexReport

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (chunks embedded so far, chunks to embed)
Prepared = tuple[Document, str, list[Chunk], np.ndarray]  # document, content hash, its chunks, their vectors
Prepare = Callable[[list[tuple[Document, str]], Embedder, Config, "Progress | None"], Iterable[Prepared]]


class Cluster(Protocol):
    """Workers elsewhere that load, chunk and embed (rag/scale/ray_indexing.py)."""

    def load_folder(self, root: Path) -> tuple[list[Document], list[tuple[str, str]]]: ...

    def prepare(self, changed: list[tuple[Document, str]], embedder: Embedder, config: Config,
                progress: Progress | None = None) -> Iterable[Prepared]: ...


# Chunks per call to the embedder (it sorts each call by length) and per committed transaction.
ENCODE_GROUP = 1024
COMMIT_CHUNKS = 8192


def content_hash(doc: Document) -> str:
    """Changes whenever anything stored for the document changes."""
    h = hashlib.sha256()
    for part in (doc.text, doc.title, doc.source, doc.date, ",".join(doc.readers)):
        h.update(part.encode("utf-8") + b"\x00")
    return h.hexdigest()


def index_path(
    path: Path, store: Store, embedder: Embedder, config: Config, progress: Progress | None = None,
    readers: Sequence[str] = (),
    cluster: Cluster | None = None,
) -> IndexReport:
    """Index the file or folder at `path` incrementally; returns what changed and what failed.

    A file that fails to load keeps its previously indexed version; a file that is gone from the
    folder is removed from the index. Documents indexed from other folders are left alone. With
    `readers`, only members of those groups may read the documents (a change of groups re-indexes).
    With `cluster` (rag.scale.ray_indexing.RayCluster), its workers load, chunk and embed; this
    process decides what changed and writes, so the index is the one this process alone would write.
    """
    path = Path(path)
    documents, failures = (cluster.load_folder if cluster else load_folder)(path)
    documents = [replace(doc, readers=check_groups(readers)) for doc in documents]
    root = str((path.parent if path.is_file() else path).resolve())
    keep = {Path(f).resolve().relative_to(root).as_posix() for f, _ in failures if _under(f, root)}
    return index_documents(documents, store, embedder, config, root=root, prune=path.is_dir(), keep=keep,
                           failures=failures, progress=progress, prepare=cluster.prepare if cluster else None)


def index_documents(
    documents: list[Document],
    store: Store,
    embedder: Embedder,
    config: Config,
    *,
    root: str,
    prune: bool = False,
    keep: set[str] = frozenset(),
    failures: list[tuple[str, str]] = (),
    progress: Progress | None = None,
    prepare: Prepare | None = None,
) -> IndexReport:
    """Add or update `documents` (all from `root`), embedding only new or changed ones.

    With `prune`, documents previously indexed from the same root and absent now (and not in
    `keep`) are removed. `prepare` chunks and embeds the changed documents, yielding them in the
    order given (chunk ids follow it): `embed_here` by default, or on a Ray cluster
    (rag/scale/ray_indexing.py). Whatever does it, the writes are these.
    """
    settings = json.dumps({**config.chunking_settings(), "window": embedder.window, "splitter": SPLITTER_VERSION},
                          sort_keys=True)
    added, updated, removed = [], [], []
    unchanged = 0
    with store.writer() as batch:
        rechunk = store.setting("chunking") not in (None, settings)
        if rechunk:
            log.info("chunking settings changed: re-indexing every document")
        known = store.document_hashes()
        changed: dict[str, tuple[Document, str]] = {}
        for doc in documents:
            digest = content_hash(doc)
            if doc.doc_id in known and known[doc.doc_id][1] == digest and not rechunk:
                unchanged += 1
                continue
            (updated if doc.doc_id in known else added).append(doc.doc_id)
            changed[doc.doc_id] = (doc, digest)
        if prune:
            present = {d.doc_id for d in documents} | set(keep)
            for doc_id, (doc_root, _) in known.items():
                if doc_root == root and doc_id not in present:
                    batch.remove(doc_id)
                    removed.append(doc_id)
        if rechunk:
            for doc_id in known:
                if doc_id not in changed and doc_id not in removed:
                    doc = store.document(doc_id)
                    changed[doc_id] = (doc, content_hash(doc))
                    updated.append(doc_id)
        done = pending = 0
        for doc, digest, chunks, vectors in (prepare or embed_here)(list(changed.values()), embedder, config, progress):
            batch.put(doc, root, digest, chunks, vectors)
            done += len(chunks)
            pending += len(chunks)
            if pending >= COMMIT_CHUNKS:
                batch.commit({"chunking": settings})
                pending = 0
        batch.commit({"chunking": settings})
    return IndexReport(added, updated, removed, unchanged, list(failures), done)


def chunk(doc: Document, embedder: Embedder, config: Config) -> list[Chunk]:
    """The document's chunks as the index stores them (sentence-aligned, within the embedder's window)."""
    return chunk_document(doc, chunk_tokens=config.chunk_tokens, overlap_tokens=config.chunk_overlap,
                          window=min(config.embed_window, embedder.window), window_count=embedder.count_tokens)


def embed_here(
    changed: list[tuple[Document, str]], embedder: Embedder, config: Config, progress: Progress | None = None
) -> Iterator[Prepared]:
    """Chunk and embed in this process, about ENCODE_GROUP chunks per call to the embedder; in order."""
    chunked = [(doc, digest, chunk(doc, embedder, config)) for doc, digest in changed]
    total = sum(len(chunks) for _, _, chunks in chunked)
    done = 0
    if progress:
        progress(0, total)
    for group in _groups(chunked, ENCODE_GROUP):
        texts = [c.text for _, _, chunks in group for c in chunks]
        vectors = embedder.encode(texts) if texts else np.zeros((0, embedder.dim), np.float32)
        offset = 0
        for doc, digest, chunks in group:
            yield doc, digest, chunks, vectors[offset : offset + len(chunks)]
            offset += len(chunks)
        done += len(texts)
        if progress:
            progress(done, total)


def check_groups(groups: Sequence[str]) -> tuple[str, ...]:
    """Group names, sorted and without repeats; ConfigError for one that is empty or holds a comma."""
    names = [g.strip() for g in groups]
    bad = [g for g in names if not g or "," in g]
    if bad:
        raise ConfigError(f"a group name must be non-empty and without commas: {bad[0]!r}")
    return tuple(sorted(set(names)))


def _under(file: str, root: str) -> bool:
    try:
        Path(file).resolve().relative_to(root)
        return True
    except ValueError:
        return False


def _groups(chunked: list[tuple[Document, str, list[Chunk]]], size: int):
    """Consecutive documents whose chunks add up to about `size` (a document is never split)."""
    group, count = [], 0
    for item in chunked:
        group.append(item)
        count += len(item[2])
        if count >= size:
            yield group
            group, count = [], 0
    if group:
        yield group
