"""Chunk vectors in Milvus instead of a FAISS file: Milvus Lite (a local file, in-process) or a Milvus
server. SQLite keeps documents, chunk text and BM25; Milvus keeps each chunk's vector with the two
fields dense search filters on (its document and the document's reader groups), so document and
group filters run inside Milvus rather than as id lists sent from here.

Milvus has no transaction to join SQLite's, so the write order keeps the index consistent:
vectors are upserted (by chunk id) before the SQLite transaction commits and deleted only after
it; ids to delete are recorded in SQLite in that same transaction and retried until Milvus has
dropped them. A crash therefore leaves Milvus holding at most some extra vectors whose chunk ids
SQLite does not know: searches skip those, and the next write removes them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from pathlib import Path

import numpy as np

from rag.errors import ConfigError

log = logging.getLogger(__name__)

SCHEME = "milvus://"
UPSERT_ROWS = 2000  # rows per upsert call (one gRPC message each; stays well under its size limit)
READERS_LENGTH = 4096  # characters of a document's reader groups, as Milvus stores them


def is_milvus(vectors: str) -> bool:
    return vectors == "milvus" or vectors.startswith(SCHEME)


def milvus_target(vectors: str, index_dir: Path) -> str:
    """What MilvusClient opens for a `--vectors` value: `milvus` is a Milvus Lite file inside the index
    folder, `milvus://PATH.db` a Milvus Lite file elsewhere, `milvus://HOST:PORT` a Milvus server."""
    if vectors == "milvus":
        return str((index_dir / "milvus.db").resolve())
    rest = vectors.removeprefix(SCHEME)
    if not rest:
        raise ConfigError(f"--vectors {vectors}: expected milvus, milvus://PATH.db or milvus://HOST:PORT")
    if rest.endswith(".db"):
        return str(Path(rest).expanduser().resolve())
    return rest if rest.startswith(("http://", "https://")) else f"http://{rest}"


def collection_name(index_dir: Path) -> str:
    """One collection per index folder, so several indexes can share a Milvus server."""
    stem = re.sub(r"\W", "_", Path(index_dir).resolve().name)[:40]
    return f"rag_{stem}_{hashlib.sha256(str(Path(index_dir).resolve()).encode()).hexdigest()[:8]}"


class MilvusVectors:
    """The vectors of one index, in one Milvus collection (exact inner-product search: FLAT)."""

    def __init__(self, target: str, collection: str, dim: int):
        try:
            from pymilvus import DataType, MilvusClient
        except ImportError:
            raise ConfigError("Milvus vectors need the scale extra: pip install -e '.[scale]'") from None
        self.target, self.collection, self.dim = target, collection, dim
        logging.getLogger("grpc._server").addFilter(_unimplemented_in_lite)
        self.client = MilvusClient(target)
        if not self.client.has_collection(collection):
            schema = self.client.create_schema(auto_id=False, enable_dynamic_field=False)
            schema.add_field("id", DataType.INT64, is_primary=True)
            schema.add_field("doc_id", DataType.VARCHAR, max_length=4096)
            # ",hr,finance," or "" (everyone): Milvus Lite evaluates `like` on a string column
            # vectorised, but ARRAY functions row by row (100k vectors, one group: 75 ms vs 4.7 s).
            schema.add_field("readers", DataType.VARCHAR, max_length=READERS_LENGTH)
            schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
            params = self.client.prepare_index_params()
            params.add_index("vector", index_type="FLAT", metric_type="IP")
            self.client.create_collection(collection, schema=schema, index_params=params)
        self.client.load_collection(collection)

    @property
    def ntotal(self) -> int:
        rows = self.client.query(self.collection, filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"])

    def upsert(self, ids: np.ndarray, vectors: np.ndarray, doc_ids: list[str], readers: list[tuple[str, ...]]) -> None:
        """Write (or overwrite) vectors and flush them: durable, and sealed into indexed segments
        (Milvus Lite searched 20k unflushed vectors by brute force in 0.8 s a query, 25 ms flushed)."""
        for start in range(0, len(ids), UPSERT_ROWS):
            rows = [
                {"id": int(ids[i]), "doc_id": doc_ids[i], "readers": _readers(readers[i]), "vector": vectors[i].tolist()}
                for i in range(start, min(start + UPSERT_ROWS, len(ids)))
            ]
            self.client.upsert(self.collection, rows)
        self.client.flush(self.collection)

    def delete(self, ids: list[int]) -> None:
        for start in range(0, len(ids), UPSERT_ROWS):
            self.client.delete(self.collection, ids=[int(i) for i in ids[start : start + UPSERT_ROWS]])
        self.client.flush(self.collection)

    def delete_above(self, last_id: int) -> None:
        """Drop vectors of chunk ids SQLite never committed (a write that crashed before its commit)."""
        self.client.delete(self.collection, filter=f"id > {int(last_id)}")
        self.client.flush(self.collection)

    def search(self, query: np.ndarray, k: int, doc_ids: list[str] | None = None,
               groups: frozenset[str] | None = None) -> list[tuple[int, float]]:
        """(chunk id, inner product) of the k nearest vectors among the documents `doc_ids` and those
        members of `groups` may read (a document with no reader groups is everyone's)."""
        clauses = []
        if doc_ids is not None:
            clauses.append(f"doc_id in {json.dumps(list(doc_ids))}")
        if groups is not None:
            # `_` and `%` in a group name are escaped; whatever this matches, Store checks each hit's
            # readers again in SQLite, so a pattern can never widen what an asker reads.
            likes = [f'readers like {json.dumps("%," + _escape_like(g) + ",%")}' for g in sorted(groups)]
            clauses.append("(" + " or ".join(['readers == ""', *likes]) + ")")
        result = self.client.search(
            self.collection, data=[np.asarray(query, dtype=np.float32).ravel().tolist()], limit=k,
            filter=" and ".join(clauses), search_params={"metric_type": "IP"},
        )
        return [(int(hit["id"]), float(hit["distance"])) for hit in result[0]]

    def close(self) -> None:
        self.client.close()


def _readers(groups: tuple[str, ...]) -> str:
    return "," + ",".join(groups) + "," if groups else ""


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _unimplemented_in_lite(record: logging.LogRecord) -> bool:
    """Milvus Lite's in-process server logs a traceback for each call it does not implement;
    pymilvus asks for a timestamp (AllocTimestamp) while creating an index and goes on without
    one. The traceback would reach the user's terminal for nothing."""
    return "Method not implemented" not in record.getMessage()
