"""The index on disk: SQLite for documents, chunks, their vectors and BM25 (FTS5); FAISS for search.

SQLite is the source of truth and the unit of atomicity. The FAISS index is saved beside it as
`vectors-<generation>.faiss`, written before the transaction that records that generation commits,
so a crash at any point leaves the previous generation complete. A missing or damaged FAISS file
is rebuilt from the vectors kept in SQLite.

An index may instead keep its vectors in Milvus (`vectors="milvus..."`, rag/scale/milvus.py, which
says how it stays consistent without a shared transaction); the index records which backend holds
its vectors and will not open with another.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import sqlite3
import threading
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from rag.chunking import CJK_RUN, cjk_bigrams
from rag.errors import ConfigError, IndexLockedError, IndexMismatchError, IndexMissingError
from rag.language import detect
from rag.types import Chunk, Document, readable_by

log = logging.getLogger(__name__)

DB_NAME = "meta.sqlite"
SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY, title TEXT NOT NULL, source TEXT NOT NULL, date TEXT NOT NULL,
    path TEXT NOT NULL, root TEXT NOT NULL, sha256 TEXT NOT NULL, text TEXT NOT NULL,
    readers TEXT NOT NULL DEFAULT '',  -- groups that may read it, comma-separated; '' means everyone
    language TEXT NOT NULL DEFAULT ''  -- ISO 639-1 code (rag.language.detect)
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: a deleted chunk's id is never reused
    doc_id TEXT NOT NULL REFERENCES documents(doc_id), start INTEGER NOT NULL, "end" INTEGER NOT NULL,
    text TEXT NOT NULL, vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(text, tokenize = 'porter unicode61');
-- Chunk ids whose vectors an external vector store (Milvus) must still drop.
CREATE TABLE IF NOT EXISTS vector_deletions (id INTEGER PRIMARY KEY);
"""
FAISS = "faiss"
LEXICAL = "cjk-bigrams"  # how chunk text becomes FTS5 terms (lexical_text), recorded with the index
_STOPWORDS = set(
    "a an and are as at be by did do does for from had has have how in is it its of on or that the their this "
    "to was were what when where which who whom why will with would according".split()
)


def fts_query(text: str) -> str:
    """An FTS5 query that ORs the question's content words, each quoted (no syntax injection)."""
    words = [w for w in re.findall(r"\w+", lexical_text(text).lower()) if w not in _STOPWORDS]
    return " OR ".join(f'"{w}"' for w in dict.fromkeys(words))


def lexical_text(text: str) -> str:
    """What FTS5 indexes for a text: the text itself, each run of CJK characters replaced by its
    character pairs. unicode61 would keep a whole Chinese sentence as one token, which no question
    matches. English text is unchanged."""
    return CJK_RUN.sub(lambda m: " " + " ".join(cjk_bigrams(m.group())) + " ", text)


class Store:
    """An open index folder. Reads need nothing; writes go through `writer()`."""

    def __init__(self, path: Path, *, embedder: str, dim: int, exact_limit: int = 200_000, create: bool = True,
                 vectors: str = FAISS):
        self.path = Path(path)
        if not create and not (self.path / DB_NAME).is_file():
            raise IndexMissingError(f"no index at {self.path}: run `rag index PATH` first")
        self.path.mkdir(parents=True, exist_ok=True)
        self.exact_limit = exact_limit
        self._lock = threading.RLock()
        self.db = sqlite3.connect(self.path / DB_NAME, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)
        if "readers" not in {row[1] for row in self.db.execute("PRAGMA table_info(documents)")}:
            # An index made before documents had readers: every document stays readable by everyone.
            self.db.execute("ALTER TABLE documents ADD COLUMN readers TEXT NOT NULL DEFAULT ''")
        self._add_languages()
        self._check_settings(embedder, dim)
        self._check_vectors(vectors)
        self._index_cjk_terms()
        self.dim = dim
        self.embedder = embedder
        self.vectors = vectors
        self.generation = int(self.setting("generation") or 0)
        self.milvus = None
        if vectors == FAISS:
            self.index = self._load_faiss()
        else:
            from rag.scale.milvus import MilvusVectors, collection_name, milvus_target

            self.index = None
            self.milvus = MilvusVectors(milvus_target(vectors, self.path), collection_name(self.path), dim)
        self._allowed: tuple = (None, np.zeros(0, dtype=np.int64))  # the last filter's chunk ids, see _chunk_ids
        self._readable: tuple = (None, None)  # the last asker's readable documents, see readable

    # -- settings -------------------------------------------------------------------------------

    def setting(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _set(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", (key, value))

    def _check_settings(self, embedder: str, dim: int) -> None:
        stored = self.setting("embedder")
        if stored is None:
            with self._transaction():
                self._set("embedder", embedder)
                self._set("dim", str(dim))
        elif stored != embedder or int(self.setting("dim") or 0) != dim:
            raise IndexMismatchError(
                f"index {self.path} was built with embedder {stored!r} ({self.setting('dim')}-d), "
                f"not {embedder!r} ({dim}-d); rebuild it or use another --index folder"
            )

    def _check_vectors(self, vectors: str) -> None:
        """Record where the vectors live on first write; refuse to open with another backend."""
        from rag.scale.milvus import is_milvus

        if vectors != FAISS and not is_milvus(vectors):
            raise ConfigError(f"vectors {vectors!r}: expected faiss, milvus, milvus://PATH.db or milvus://HOST:PORT")
        stored = self.setting("vectors")
        if stored is None:
            has_chunks = self.db.execute("SELECT 1 FROM chunks LIMIT 1").fetchone() is not None
            stored = FAISS if has_chunks else vectors  # an index older than the setting held FAISS vectors
            with self._transaction():
                self._set("vectors", stored)
        if stored != vectors:
            raise IndexMismatchError(
                f"index {self.path} keeps its vectors in {stored}, not {vectors}; open it with "
                f"--vectors {stored} or rebuild it in another --index folder"
            )

    def _add_languages(self) -> None:
        """An index made before documents had a language gains the column, filled once on open."""
        if "language" in {row[1] for row in self.db.execute("PRAGMA table_info(documents)")}:
            self.db.execute("CREATE INDEX IF NOT EXISTS documents_language ON documents(language)")
            return
        with self._transaction():
            self.db.execute("ALTER TABLE documents ADD COLUMN language TEXT NOT NULL DEFAULT ''")
            for doc_id, text in self.db.execute("SELECT doc_id, text FROM documents").fetchall():
                self.db.execute("UPDATE documents SET language = ? WHERE doc_id = ?", (detect(text), doc_id))
            self.db.execute("CREATE INDEX documents_language ON documents(language)")

    def _index_cjk_terms(self) -> None:
        """An index written before lexical_text existed holds Chinese chunks as single FTS tokens:
        re-index those once, in one transaction."""
        if self.setting("lexical") == LEXICAL:
            return
        with self._transaction():
            for rowid, text in self.db.execute("SELECT id, text FROM chunks").fetchall():
                if CJK_RUN.search(text):
                    self.db.execute("DELETE FROM chunks_fts WHERE rowid = ?", (rowid,))
                    self.db.execute("INSERT INTO chunks_fts (rowid, text) VALUES (?, ?)", (rowid, lexical_text(text)))
            self._set("lexical", LEXICAL)

    def chunking(self) -> dict | None:
        value = self.setting("chunking")
        return json.loads(value) if value else None

    # -- writing --------------------------------------------------------------------------------

    @contextmanager
    def writer(self):
        """Hold the index's write lock (refusing if another process has it) for a batch of changes."""
        lock_file = open(self.path / ".lock", "a+")
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock_file.seek(0)
            holder = lock_file.read().strip() or "another process"
            lock_file.close()
            raise IndexLockedError(f"index {self.path} is being written by {holder}; try again when it finishes") from None
        lock_file.seek(0)
        lock_file.truncate()
        lock_file.write(f"pid {os.getpid()}")
        lock_file.flush()
        try:
            self.generation = int(self.setting("generation") or 0)  # another process may have written
            if self.milvus is None:
                self.index = self._load_faiss()
            else:
                self._settle_milvus()
            yield _Batch(self)
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)
            lock_file.close()

    @contextmanager
    def _transaction(self):
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    # -- reading --------------------------------------------------------------------------------

    def document_hashes(self) -> dict[str, tuple[str, str]]:
        """doc_id -> (root, sha256) for every indexed document."""
        return {d: (r, h) for d, r, h in self.db.execute("SELECT doc_id, root, sha256 FROM documents")}

    def documents(self) -> list[Document]:
        rows = self.db.execute(f"SELECT {_DOCUMENT} FROM documents ORDER BY doc_id")
        return [_document(row) for row in rows]

    def document(self, doc_id: str) -> Document | None:
        row = self.db.execute(f"SELECT {_DOCUMENT} FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        return _document(row) if row else None

    def readable(self, groups: Iterable[str]) -> list[str] | None:
        """The documents a member of `groups` may read, or None when that is every document (no
        filter needed). Cached for the last groups asked about, per committed generation (read from
        the database, so a document another process added since is never let through unfiltered)."""
        groups = frozenset(groups)
        key = (self.setting("generation"), groups)
        cached_key, allowed = self._readable  # one tuple, read and replaced whole: safe across threads
        if cached_key == key:
            return allowed
        rows = self.db.execute("SELECT doc_id, readers FROM documents").fetchall()
        allowed = [doc_id for doc_id, readers in rows if readable_by(filter(None, readers.split(",")), groups)]
        allowed = None if len(allowed) == len(rows) else allowed
        self._readable = (key, allowed)
        return allowed

    def allowed(self, doc_ids: list[str] | None, groups: Iterable[str] | None) -> list[str] | None:
        """The documents a search may return: `doc_ids` (None: all) that members of `groups` (None: no
        group filter) may read. None means no filter; [] means nothing."""
        if groups is None:
            return doc_ids
        readable = self.readable(groups)
        if readable is None:
            return doc_ids
        if doc_ids is None:
            return readable
        keep = set(readable)
        return [d for d in doc_ids if d in keep]

    def document_language(self, doc_id: str) -> str:
        row = self.db.execute("SELECT language FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        return row[0] if row else ""

    def languages(self, doc_ids: list[str] | None = None) -> dict[str, int]:
        """language -> how many of the documents (or of `doc_ids`) are written in it."""
        if doc_ids is None:
            return dict(self.db.execute("SELECT language, count(*) FROM documents GROUP BY language"))
        sql = f"SELECT language, count(*) FROM documents WHERE doc_id IN {_EACH} GROUP BY language"
        return dict(self.db.execute(sql, (json.dumps(doc_ids),)))

    def count(self, doc_ids: list[str] | None = None) -> tuple[int, int]:
        """(documents, chunks) in the index, or among `doc_ids`."""
        if doc_ids is None:
            docs = self.db.execute("SELECT count(*) FROM documents").fetchone()[0]
            return docs, self.db.execute("SELECT count(*) FROM chunks").fetchone()[0]
        per_doc = dict(self.db.execute("SELECT doc_id, count(*) FROM chunks GROUP BY doc_id"))
        known = {d for (d,) in self.db.execute("SELECT doc_id FROM documents")}
        wanted = set(doc_ids) & known
        return len(wanted), sum(per_doc.get(d, 0) for d in wanted)

    def chunks(self, ids: Iterable[int]) -> dict[int, tuple[Chunk, str]]:
        """chunk id -> (chunk, document title)."""
        ids = list(ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            f'SELECT c.id, c.doc_id, c.start, c."end", c.text, d.title FROM chunks c '
            f"JOIN documents d USING (doc_id) WHERE c.id IN ({marks})",
            ids,
        )
        return {row[0]: (Chunk(row[1], row[2], row[3], row[4]), row[5]) for row in rows}

    def dense_search(self, query: np.ndarray, k: int, doc_ids: list[str] | None = None,
                     groups: Iterable[str] | None = None) -> list[tuple[int, float]]:
        """(chunk id, cosine) of the k nearest chunks among `doc_ids` readable by `groups`, exactly
        when filtered: the exact index searches only the allowed chunks (a FAISS id selector); an IVF
        index, whose probed lists may hold too few of them, is bypassed for an exact scan of their
        vectors. Milvus gets the filter itself (document and reader groups)."""
        if self.milvus is not None:
            return self._milvus_search(query, k, doc_ids, groups)
        doc_ids = self.allowed(doc_ids, groups)
        if doc_ids is not None and not doc_ids:
            return []
        if self.index.ntotal == 0:
            return []
        import faiss

        faiss.omp_set_num_threads(1)  # one query: threads cost more than they save (2x slower on 2 cores)
        query = query.reshape(1, -1).astype(np.float32)
        if doc_ids and hasattr(self.index, "nprobe"):
            ids, vectors = self._vectors(doc_ids)
            scores = vectors @ query[0]
            top = np.argsort(-scores)[:k]
            return [(int(ids[i]), float(scores[i])) for i in top]
        if doc_ids:
            allowed = self._chunk_ids(doc_ids)
            if not len(allowed):
                return []
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed))
            scores, ids = self.index.search(query, min(k, len(allowed)), params=params)
        else:
            scores, ids = self.index.search(query, min(k, self.index.ntotal))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def _chunk_ids(self, doc_ids: list[str]) -> np.ndarray:
        """The chunk ids of `doc_ids`, cached per index generation (the same readers ask again and again)."""
        key = (self.generation, tuple(sorted(doc_ids)))
        cached_key, ids = self._allowed  # one tuple, read and replaced whole: safe across threads
        if cached_key != key:
            rows = self.db.execute(f"SELECT id FROM chunks WHERE doc_id IN {_EACH}", (json.dumps(doc_ids),)).fetchall()
            ids = np.array([r[0] for r in rows], dtype=np.int64)
            self._allowed = (key, ids)
        return ids

    def _milvus_search(self, query, k, doc_ids, groups) -> list[tuple[int, float]]:
        if doc_ids is not None and not doc_ids:
            return []
        groups = None if groups is None else frozenset(groups)
        found = self.milvus.search(query, k, doc_ids, groups)
        if not found:
            return []
        # A vector whose chunk SQLite does not hold (a crashed or not yet settled write) is no hit; nor
        # is one SQLite says the asker may not read (SQLite decides readers; Milvus only narrows).
        rows = self.db.execute(
            f"SELECT c.id, c.doc_id, d.readers FROM chunks c JOIN documents d USING (doc_id) WHERE c.id IN {_EACH}",
            (json.dumps([cid for cid, _ in found]),),
        )
        wanted = None if doc_ids is None else set(doc_ids)
        known = {
            cid for cid, doc_id, readers in rows
            if (wanted is None or doc_id in wanted)
            and (groups is None or readable_by(filter(None, readers.split(",")), groups))
        }
        return [(cid, score) for cid, score in found if cid in known]

    def _settle_milvus(self) -> None:
        """Under the write lock: finish what a crashed write left in Milvus (deletions recorded but
        not done; vectors upserted for chunks whose transaction never committed)."""
        self._drop_deleted_vectors()
        row = self.db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'chunks'").fetchone()
        self.milvus.delete_above(row[0] if row else 0)

    def _drop_deleted_vectors(self) -> None:
        """Delete from Milvus the vectors of chunks whose removal SQLite has committed."""
        pending = [r[0] for r in self.db.execute("SELECT id FROM vector_deletions")]
        if pending:
            self.milvus.delete(pending)
            self.db.execute("DELETE FROM vector_deletions")

    def bm25_search(self, query: str, k: int, doc_ids: list[str] | None = None,
                    groups: Iterable[str] | None = None) -> list[tuple[int, float]]:
        """(chunk id, -bm25) of the best lexical matches among `doc_ids` readable by `groups`; higher
        is better."""
        doc_ids = self.allowed(doc_ids, groups)
        if doc_ids is not None and not doc_ids:
            return []
        match = fts_query(query)
        if not match:
            return []
        sql = "SELECT rowid, bm25(chunks_fts) AS s FROM chunks_fts WHERE chunks_fts MATCH ?"
        args: list = [match]
        if doc_ids:
            sql += f" AND rowid IN (SELECT id FROM chunks WHERE doc_id IN {_EACH})"
            args.append(json.dumps(doc_ids))
        rows = self.db.execute(sql + " ORDER BY s LIMIT ?", [*args, k]).fetchall()
        return [(int(rowid), -float(score)) for rowid, score in rows]

    def _vectors(self, doc_ids: list[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        sql, args = "SELECT id, vector FROM chunks", []
        if doc_ids:
            sql += f" WHERE doc_id IN {_EACH}"
            args = [json.dumps(doc_ids)]
        rows = self.db.execute(sql + " ORDER BY id", args).fetchall()
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), self.dim)
        return ids, vectors

    # -- FAISS ----------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Pick up a generation that another process (or writer) committed since we loaded."""
        generation = int(self.setting("generation") or 0)
        if generation != self.generation:
            self.generation = generation
            if self.milvus is None:
                self.index = self._load_faiss()

    def _faiss_file(self, generation: int) -> Path:
        return self.path / f"vectors-{generation}.faiss"

    def _load_faiss(self):
        import faiss

        path = self._faiss_file(self.generation)
        if path.is_file():
            try:
                return faiss.read_index(str(path))
            except RuntimeError as exc:
                log.warning("%s: unreadable (%s); rebuilding from the database", path, exc)
        elif self.generation:
            log.warning("%s: missing; rebuilding from the database", path)
        with self._lock:
            self.db.execute("BEGIN")
            try:
                ids, vectors = self._vectors()
            finally:
                self.db.execute("COMMIT")
        return build_faiss(vectors, ids, self.dim, self.exact_limit)

    def _save_faiss(self, generation: int) -> None:
        import faiss

        path = self._faiss_file(generation)
        tmp = path.with_suffix(".tmp")
        faiss.write_index(self.index, str(tmp))
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)

    def _drop_old_faiss(self) -> None:
        for path in self.path.glob("vectors-*.faiss"):
            if path != self._faiss_file(self.generation):
                path.unlink(missing_ok=True)

    def close(self) -> None:
        if self.milvus is not None:
            self.milvus.close()
        self.db.close()


_DOCUMENT = "doc_id, title, text, source, date, path, readers"
# A list of document ids as one JSON parameter: no limit on how many (SQLite caps "?" parameters).
_EACH = "(SELECT value FROM json_each(?))"


def _document(row) -> Document:
    *fields, readers = row
    return Document(*fields, readers=tuple(readers.split(",")) if readers else ())


def build_faiss(vectors: np.ndarray, ids: np.ndarray, dim: int, exact_limit: int):
    """Exact inner-product search up to `exact_limit` vectors, an IVF index (trained here) past it."""
    import faiss

    if len(vectors) <= exact_limit:
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    else:
        nlist = int(4 * np.sqrt(len(vectors)))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        sample = vectors[np.random.default_rng(0).choice(len(vectors), min(len(vectors), 64 * nlist), replace=False)]
        index.train(sample)
        index.nprobe = 32
    if len(vectors):
        index.add_with_ids(vectors, ids)
    return index


class _Batch:
    """Changes made under the write lock; `commit` applies them in one transaction."""

    def __init__(self, store: Store):
        self.store = store
        self.removals: list[str] = []
        self.additions: list[tuple[Document, str, str, list[Chunk], np.ndarray]] = []

    def remove(self, doc_id: str) -> None:
        self.removals.append(doc_id)

    def put(self, doc: Document, root: str, sha256: str, chunks: list[Chunk], vectors: np.ndarray) -> None:
        """Add or replace a document with its chunks and their vectors (one row per chunk)."""
        self.additions.append((doc, root, sha256, chunks, vectors))

    def commit(self, settings: dict[str, str] | None = None) -> None:
        store = self.store
        generation = store.generation + 1
        doomed = set(self.removals) | {a[0].doc_id for a in self.additions}
        try:
            self._apply(doomed, generation, settings or {})
        except BaseException:
            if store.milvus is None:
                store.index = store._load_faiss()  # the transaction rolled back: so must the vectors
            raise
        store.generation = generation
        if store.milvus is None:
            store._drop_old_faiss()
        else:
            store._drop_deleted_vectors()  # stray vectors of a crashed write were settled when the lock was taken
        self.removals, self.additions = [], []

    def _apply(self, doomed: set[str], generation: int, settings: dict[str, str]) -> None:
        store, db = self.store, self.store.db
        with store._transaction():
            for key, value in settings.items():
                store._set(key, value)
            old_ids: list[int] = []
            for doc_id in doomed:
                old_ids += [r[0] for r in db.execute("SELECT id FROM chunks WHERE doc_id = ?", (doc_id,))]
                db.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
                db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))
            db.executemany("DELETE FROM chunks_fts WHERE rowid = ?", [(i,) for i in old_ids])
            if old_ids and store.milvus is not None:
                db.executemany("INSERT OR IGNORE INTO vector_deletions VALUES (?)", [(i,) for i in old_ids])
            elif old_ids:
                store.index.remove_ids(np.array(old_ids, dtype=np.int64))
            upserts = []  # (chunk ids, vectors, document) for Milvus, sent together before the commit
            for doc, root, sha256, chunks, vectors in self.additions:
                db.execute(
                    "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (doc.doc_id, doc.title, doc.source, doc.date, doc.path, root, sha256, doc.text,
                     ",".join(doc.readers), detect(doc.text)),
                )
                new_ids = []
                for chunk, vector in zip(chunks, vectors, strict=True):
                    # With Milvus the vector lives there only (SQLite would double the disk it takes).
                    blob = b"" if store.milvus is not None else vector.astype(np.float32).tobytes()
                    cursor = db.execute(
                        'INSERT INTO chunks (doc_id, start, "end", text, vector) VALUES (?, ?, ?, ?, ?)',
                        (chunk.doc_id, chunk.start, chunk.end, chunk.text, blob),
                    )
                    new_ids.append(cursor.lastrowid)
                    db.execute("INSERT INTO chunks_fts (rowid, text) VALUES (?, ?)",
                               (cursor.lastrowid, lexical_text(chunk.text)))
                if store.milvus is not None:
                    upserts.append((new_ids, vectors, doc))
                elif new_ids:
                    store.index.add_with_ids(np.asarray(vectors, dtype=np.float32), np.array(new_ids, dtype=np.int64))
            if store.milvus is not None:
                ids = [i for new_ids, _, _ in upserts for i in new_ids]
                if ids:
                    store.milvus.upsert(
                        np.array(ids), np.concatenate([np.asarray(v, dtype=np.float32) for _, v, _ in upserts]),
                        [d.doc_id for new_ids, _, d in upserts for _ in new_ids],
                        [d.readers for new_ids, _, d in upserts for _ in new_ids],
                    )
                store._set("generation", str(generation))
                return  # commits here, after Milvus holds every new vector
            total = store.index.ntotal
            if total > store.exact_limit and not hasattr(store.index, "nprobe"):
                ids, vectors = store._vectors()
                store.index = build_faiss(vectors, ids, store.dim, store.exact_limit)
            store._save_faiss(generation)
            store._set("generation", str(generation))
