"""Indexing on a Ray cluster: workers load, chunk and embed; this process decides and writes.

Why actors and not Ray Data: each worker must load the embedder once and keep it (an actor's
state), and the writer needs results in file order, so that chunk ids come out exactly as the
single-process path assigns them; `ActorPool.map` gives both, with no schema conversion of
chunks and vectors into Arrow blocks and back. The driver keeps everything that must be single:
comparing content hashes with the index (only new and changed documents are embedded), the write
lock, and SQLite + vector transactions (so a killed worker or driver leaves a committed index).

A worker that dies is restarted and its task retried (`max_restarts`, `max_task_retries`); a
driver that dies loses the run's uncommitted part only, exactly as in one process.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from rag.config import Config
from rag.embedding import Embedder, load_embedder
from rag.errors import ConfigError, LoadError, RagError
from rag.indexing import Prepared, Progress, chunk
from rag.loaders import find_files, load_document, read_manifest
from rag.types import Document

log = logging.getLogger(__name__)

FILES_PER_TASK = 64  # files one worker loads per task
CHARS_PER_TASK = 200_000  # document text one worker chunks and embeds per task (~400 chunks of 120 tokens)
RESTARTS = 3  # times a dead worker is restarted (and its task retried) before the run fails


class _Worker:
    """One process of the pool: loads the embedder once, then serves load and embed tasks."""

    def __init__(self, make_embedder: Callable[[], Embedder], config: Config):
        self.embedder = make_embedder()
        self.config = config

    def load(self, files: list[str], base: str) -> list[Document | tuple[str, str]]:
        out, manifests = [], {}
        for name in files:
            path = Path(name)
            if path.parent not in manifests:
                manifests[path.parent] = read_manifest(path.parent)
            try:
                out.append(load_document(path, Path(base), manifests[path.parent].get(path.name)))
            except LoadError as exc:
                out.append((str(path), str(exc).removeprefix(f"{path}: ")))
        return out

    def embed(self, changed: list[tuple[Document, str]]) -> list[Prepared]:
        chunked = [(doc, digest, chunk(doc, self.embedder, self.config)) for doc, digest in changed]
        texts = [c.text for _, _, chunks in chunked for c in chunks]
        vectors = self.embedder.encode(texts) if texts else np.zeros((0, self.embedder.dim), np.float32)
        out, offset = [], 0
        for doc, digest, chunks in chunked:
            out.append((doc, digest, chunks, np.asarray(vectors[offset : offset + len(chunks)], dtype=np.float32)))
            offset += len(chunks)
        return out

    def pid(self) -> int:
        return os.getpid()


# A local start is tried twice, the GCS given 120 s to bind its port instead of Ray's 30: on a busy
# 2-core CI machine a start timed out twice in two days (the GCS port once, the raylet's registration
# once), each time in the tests' own process while other Ray instances had just stopped.
LOCAL_STARTS = 2


def start_ray(address: str | None = None, **options) -> None:
    """ray.init on `address` (None: a new local instance), or a one-line RagError; whatever
    half-started is stopped, so no raylet outlives a failed start."""
    import ray

    os.environ.setdefault("RAY_gcs_server_port_wait_time_s", "120")
    tries = 1 if address else LOCAL_STARTS
    for attempt in range(1, tries + 1):
        try:
            ray.init(address=address or None, include_dashboard=False, log_to_driver=False, **options)
            return
        except Exception as exc:  # Ray raises bare Exception/ConnectionError/RuntimeError when its processes fail
            ray.shutdown()
            if attempt == tries:
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise RagError(f"Ray at {address or 'a new local instance'}: could not start or connect: "
                               f"{reason}") from exc


class RayCluster:
    """A pool of `workers` actors on the Ray cluster at `address` (None: start a local Ray instance on
    this machine). `make_embedder` builds the embedder inside each worker (default: the configured
    one, from its PyPI package); it must be picklable."""

    def __init__(self, config: Config, *, address: str | None = None, workers: int | None = None,
                 make_embedder: Callable[[], Embedder] | None = None):
        try:
            import ray
            from ray.util import ActorPool
        except ImportError:
            raise ConfigError("indexing on Ray needs the scale extra: pip install -e '.[scale]'") from None
        self._started = not ray.is_initialized()
        if self._started:
            start_ray(address, logging_level=logging.WARNING, configure_logging=False)
        cpus = ray.cluster_resources().get("CPU", 1.0)
        self.size = max(1, workers or int(cpus))
        make_embedder = make_embedder or functools.partial(load_embedder, config.embedder)
        # More workers than CPUs share them (a whole CPU each would leave the rest unscheduled, waiting).
        actor = ray.remote(num_cpus=min(1.0, cpus / self.size), max_restarts=RESTARTS,
                           max_task_retries=RESTARTS)(_Worker)
        self.actors = [actor.remote(make_embedder, config) for _ in range(self.size)]
        self.pool = ActorPool(self.actors)
        self._ray = ray

    def worker_pids(self) -> list[int]:
        return self._ray.get([a.pid.remote() for a in self.actors])

    def load_folder(self, root: Path) -> tuple[list[Document], list[tuple[str, str]]]:
        """`rag.loaders.load_folder`, the files loaded by the workers; same documents, same order."""
        root = Path(root)
        if not root.exists():
            raise LoadError(f"{root}: no such file or folder")
        base = str(root.parent if root.is_file() else root)
        files = [str(p) for p in find_files(root)]
        tasks = [files[i : i + FILES_PER_TASK] for i in range(0, len(files), FILES_PER_TASK)]
        documents, failures = [], []
        for loaded in self.pool.map(lambda a, part: a.load.remote(part, base), tasks):
            for item in loaded:
                (documents if isinstance(item, Document) else failures).append(item)
        return documents, failures

    def prepare(self, changed: list[tuple[Document, str]], embedder: Embedder, config: Config,
                progress: Progress | None = None) -> Iterator[Prepared]:
        """Chunk and embed on the workers, yielding in the order given. Progress counts documents
        here (chunk counts are known only once a worker has chunked)."""
        tasks, task, size = [], [], 0
        for item in changed:
            task.append(item)
            size += len(item[0].text)
            if size >= CHARS_PER_TASK:
                tasks.append(task)
                task, size = [], 0
        if task:
            tasks.append(task)
        done = 0
        if progress:
            progress(0, len(changed))
        for prepared in self.pool.map(lambda a, part: a.embed.remote(part), tasks):
            yield from prepared
            done += len(prepared)
            if progress:
                progress(done, len(changed))

    def shutdown(self) -> None:
        """Stop the workers, and Ray itself when this pool started it."""
        for actor in self.actors:
            self._ray.kill(actor)
        if self._started:
            self._ray.shutdown()
