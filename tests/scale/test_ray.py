"""Indexing on Ray (a local Ray instance: the real engine) writes the index one process writes:
same chunk ids, offsets, vectors and search results; only what changed is embedded; a killed
worker is replaced, a killed driver leaves a committed index."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from rag.config import PROJECT_ROOT
from rag.indexing import index_path
from rag.retrieval import Retriever
from rag.scale.ray_indexing import LOCAL_STARTS, RayCluster, start_ray
from rag.store import DB_NAME, Store
from tests import conftest
from tests.conftest import FakeEmbedder

WORDS = ("budget travel salary office lease audit hiring laptop pension parking canteen badge contract invoice "
         "holiday training server backup printer meeting river harbour bridge tunnel garden market").split()


class SlowEmbedder(FakeEmbedder):
    """The fake embedder at a pace a test can interrupt."""

    def encode(self, texts):
        time.sleep(0.002 * len(texts))
        return super().encode(texts)


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    # The fakes live in the test modules, which the workers cannot import: send them by value.
    ray.cloudpickle.register_pickle_by_value(conftest)
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    if not ray.is_initialized():
        start_ray(num_cpus=2)
    yield
    ray.shutdown()


def generate_corpus(root: Path, documents: int, seed: int = 0) -> Path:
    rng = random.Random(seed)
    for d in range(documents):
        folder = root / f"part{d % 7}"
        folder.mkdir(parents=True, exist_ok=True)
        sentences = [" ".join(rng.choices(WORDS, k=rng.randint(5, 14))).capitalize() + f" {d}." for _ in
                     range(rng.randint(1, 12))]
        suffix = (".txt", ".md", ".html")[d % 3]
        text = "\n\n".join(sentences) if suffix != ".html" else "".join(f"<p>{s}</p>" for s in sentences)
        (folder / f"doc{d:05d}{suffix}").write_text(text, encoding="utf-8")
    (root / "part0" / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    return root


def rows(store: Store) -> list[tuple]:
    return store.db.execute('SELECT id, doc_id, start, "end", text FROM chunks ORDER BY id').fetchall()


def vectors(store: Store) -> np.ndarray:
    return store._vectors()[1]


def test_ray_writes_the_index_one_process_writes_and_reindexes_only_changes(tmp_path, config):
    corpus = generate_corpus(tmp_path / "corpus", 3000)
    embedder = FakeEmbedder()
    single = Store(tmp_path / "single", embedder=embedder.name, dim=embedder.dim)
    on_ray = Store(tmp_path / "ray", embedder=embedder.name, dim=embedder.dim)
    cluster = RayCluster(config, workers=2, make_embedder=FakeEmbedder)
    try:
        first = index_path(corpus, single, embedder, config)
        report = index_path(corpus, on_ray, embedder, config, cluster=cluster)
        assert len(report.added) == 3000 and report == first and len(report.failed) == 1
        assert rows(on_ray) == rows(single)
        assert np.allclose(vectors(on_ray), vectors(single), atol=1e-6)
        retriever_single, retriever_ray = Retriever(single, embedder, config), Retriever(on_ray, embedder, config)
        for query in ("office lease audit", "river harbour 2999", "pension budget", "garden market 17"):
            assert [h.chunk_id for h in retriever_ray.search(query, 10)] == [h.chunk_id for h in retriever_single.search(query, 10)]

        (corpus / "part1" / "doc00001.md").write_text("The harbour tunnel opens in May.", encoding="utf-8")
        (corpus / "part2" / "doc00002.html").unlink()
        (corpus / "part6" / "new.txt").write_text("A new canteen menu starts on Monday.", encoding="utf-8")
        again_single = index_path(corpus, single, embedder, config)
        again_ray = index_path(corpus, on_ray, embedder, config, cluster=cluster)
        assert again_ray == again_single
        assert (again_ray.added, again_ray.updated, again_ray.removed) == (["part6/new.txt"], ["part1/doc00001.md"],
                                                                         ["part2/doc00002.html"])
        assert again_ray.unchanged == 2998 and again_ray.chunks_embedded == 2  # one chunk each
        assert rows(on_ray) == rows(single)
        assert on_ray.index.ntotal == single.index.ntotal == len(rows(single))
    finally:
        cluster.shutdown()


def test_a_killed_worker_is_replaced_and_the_run_completes(tmp_path, config):
    corpus = generate_corpus(tmp_path / "corpus", 1500, seed=1)
    embedder = FakeEmbedder()
    single = Store(tmp_path / "single", embedder=embedder.name, dim=embedder.dim)
    on_ray = Store(tmp_path / "ray", embedder=embedder.name, dim=embedder.dim)
    index_path(corpus, single, embedder, config)
    cluster = RayCluster(config, workers=2, make_embedder=SlowEmbedder)
    victim = cluster.worker_pids()[0]
    killed = []

    def kill_when_embedding(progress_done, total):
        if progress_done and not killed:
            os.kill(victim, signal.SIGKILL)
            killed.append(progress_done)

    try:
        report = index_path(corpus, on_ray, embedder, config, progress=kill_when_embedding, cluster=cluster)
    finally:
        cluster.shutdown()
    assert killed and killed[0] < 1500
    assert len(report.added) == 1500
    assert rows(on_ray) == rows(single)
    assert np.allclose(vectors(on_ray), vectors(single), atol=1e-6)


def test_more_workers_than_cpus_share_them(tmp_path, config, toy_corpus):
    embedder = FakeEmbedder()
    single = Store(tmp_path / "single", embedder=embedder.name, dim=embedder.dim)
    on_ray = Store(tmp_path / "ray", embedder=embedder.name, dim=embedder.dim)
    index_path(toy_corpus, single, embedder, config)
    cluster = RayCluster(config, workers=3, make_embedder=FakeEmbedder)  # the local instance has 2 CPUs
    try:
        assert len(cluster.worker_pids()) == 3
        index_path(toy_corpus, on_ray, embedder, config, cluster=cluster)
    finally:
        cluster.shutdown()
    assert rows(on_ray) == rows(single)


DRIVER = """
import sys, ray
from pathlib import Path
import rag.indexing
from rag.config import Config
from rag.indexing import index_path
from rag.scale.ray_indexing import RayCluster
from rag.store import Store
from tests import conftest
from tests.scale import test_ray

rag.indexing.COMMIT_CHUNKS = 300  # commit often, so the kill lands between commits
ray.cloudpickle.register_pickle_by_value(conftest)
ray.cloudpickle.register_pickle_by_value(test_ray)
config = Config(chunk_tokens=40, chunk_overlap=10)
embedder = conftest.FakeEmbedder()
store = Store(Path(sys.argv[1]), embedder=embedder.name, dim=embedder.dim)
index_path(Path(sys.argv[2]), store, embedder, config, cluster=RayCluster(config, workers=2,
           make_embedder=test_ray.SlowEmbedder))
"""


def test_a_killed_driver_leaves_a_committed_index_that_a_rerun_completes(tmp_path, config):
    corpus = generate_corpus(tmp_path / "corpus", 2000, seed=2)
    embedder = FakeEmbedder()
    index_dir = tmp_path / "ray"
    driver = subprocess.Popen([sys.executable, "-c", textwrap.dedent(DRIVER), str(index_dir), str(corpus)],
                              cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    generation = 0
    while time.time() < deadline and driver.poll() is None and generation < 3:
        time.sleep(0.2)
        if (index_dir / DB_NAME).exists():
            try:
                with sqlite3.connect(index_dir / DB_NAME, timeout=5) as db:
                    row = db.execute("SELECT value FROM settings WHERE key = 'generation'").fetchone()
                generation = int(row[0]) if row else 0
            except sqlite3.OperationalError:
                pass
    assert driver.poll() is None, driver.stderr.read().decode()[-2000:]
    driver.send_signal(signal.SIGKILL)
    driver.wait()

    store = Store(index_dir, embedder=embedder.name, dim=embedder.dim)
    docs, chunks = store.count()
    assert 0 < docs < 2000
    assert store.index.ntotal == chunks == store.db.execute("SELECT count(*) FROM chunks_fts").fetchone()[0]
    hits = Retriever(store, embedder, config).search("office lease", 5)
    assert hits and all(store.document(h.doc_id) for h in hits)

    single = Store(tmp_path / "single", embedder=embedder.name, dim=embedder.dim)
    index_path(corpus, single, embedder, config)
    cluster = RayCluster(config, workers=2, make_embedder=FakeEmbedder)
    try:
        report = index_path(corpus, store, embedder, config, cluster=cluster)
    finally:
        cluster.shutdown()
    assert report.unchanged == docs and len(report.added) == 2000 - docs
    assert sorted(r[1:] for r in rows(store)) == sorted(r[1:] for r in rows(single))


@pytest.mark.slow
def test_ray_with_the_real_embedder_gives_the_same_chunks_and_vectors(tmp_path, config):
    """Other batches on other processes: the same vectors to float tolerance."""
    from rag.config import Config
    from rag.embedding import load_embedder

    config = Config()
    embedder = load_embedder(config.embedder)
    single = Store(tmp_path / "single", embedder=embedder.name, dim=embedder.dim)
    on_ray = Store(tmp_path / "ray", embedder=embedder.name, dim=embedder.dim)
    index_path(config.corpus_dir, single, embedder, config)
    cluster = RayCluster(config, workers=2)
    try:
        index_path(config.corpus_dir, on_ray, embedder, config, cluster=cluster)
    finally:
        cluster.shutdown()
    assert rows(on_ray) == rows(single) and len(rows(single)) > 50
    assert np.allclose(vectors(on_ray), vectors(single), atol=1e-4)
    question = "How much did China spend on research and development?"
    assert ([h.chunk_id for h in Retriever(on_ray, embedder, config).search(question, 10)]
            == [h.chunk_id for h in Retriever(single, embedder, config).search(question, 10)])


@pytest.mark.slow
def test_rag_index_ray_on_the_command_line(tmp_path):
    # Each command is its own process, as when a user types it: each starts a local Ray instance
    # and stops it on exit. (Three local instances started and stopped inside one pytest process
    # once timed out in CI waiting for the third raylet, on a 2-core machine.)
    def rag_index(*extra):
        done = subprocess.run([sys.executable, "-m", "rag.cli", "--index", str(tmp_path / "index"), "index",
                               "--ray", *extra, "--quiet"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                              timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    ray.shutdown()  # the module's instance: not needed here, and two on 2 cores slow each other
    assert "5 added" in rag_index("--ray-workers", "2")
    assert "0 added, 0 updated, 0 removed, 5 unchanged" in rag_index()


def test_a_ray_that_does_not_start_is_a_one_line_error_and_leaves_nothing_running(config, monkeypatch):
    from rag.errors import RagError

    ray.shutdown()
    stopped = []

    def fails(**_):
        raise Exception("The current node timed out during startup. This could happen because ...\nmore")

    monkeypatch.setattr(ray, "init", fails)
    monkeypatch.setattr(ray, "shutdown", lambda: stopped.append(True))
    with pytest.raises(RagError, match=r"^Ray at a new local instance: could not start or connect: "
                                       r"The current node timed out during startup\. .*\.\.\.$"):
        RayCluster(config, workers=1, make_embedder=FakeEmbedder)
    assert stopped == [True] * LOCAL_STARTS  # tried again once, each half-start stopped
