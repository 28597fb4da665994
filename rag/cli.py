"""The `rag` command: index, search, and the model set-up step."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import typing
from pathlib import Path

from rag.config import PROJECT_ROOT, Config
from rag.errors import ConfigError, RagError

log = logging.getLogger("rag")

EXIT_ERROR = 1
EXIT_SKIPPED = 3  # indexing finished, but some files could not be read


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rag", description="Question answering over your documents, with checked citations.")
    parser.add_argument("--index", type=Path, help="index folder (default: index/ in the project, or $RAG_INDEX)")
    parser.add_argument("--vectors", metavar="BACKEND",
                        help="where the index keeps its vectors: faiss (default), milvus (Milvus Lite in the index "
                             "folder), milvus://PATH.db or milvus://HOST:PORT; or $RAG_VECTORS")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="override a setting of rag.config.Config for this run, e.g. decline_from=0.5 (repeatable; "
                             "for ablations)")
    verbs = parser.add_subparsers(dest="verb", required=True)

    p = verbs.add_parser("index", help="index a file or folder (again: only what changed)")
    p.add_argument("path", type=Path, nargs="?", help="file or folder to index (default: the default corpus)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--groups", type=_groups, default=(), metavar="A,B",
                   help="only members of these groups may read the documents (default: everyone)")
    p.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                   help="load, chunk and embed on a Ray cluster's workers (ADDRESS, e.g. ray://head:10001; "
                        "none: a local Ray instance); needs the scale extra")
    p.add_argument("--ray-workers", type=int, metavar="N", help="Ray workers (default: one per CPU of the cluster)")

    p = verbs.add_parser("search", help="search the index")
    p.add_argument("query", help="what to look for")
    p.add_argument("-k", type=int, default=None, help="number of passages (default 5)")
    p.add_argument("--json", action="store_true", help="one JSON object per hit")
    p.add_argument("--doc", action="append", metavar="DOC_ID", help="only search this document (repeatable)")
    p.add_argument("--mode", choices=["hybrid", "dense", "bm25"], default="hybrid", help="retriever (default hybrid)")
    p.add_argument("--as-groups", type=_groups, metavar="A,B", help="search as a member of these groups only")

    p = verbs.add_parser("ask", help="answer a question from the index, with checked citations")
    p.add_argument("question", help="the question, in English")
    p.add_argument("--json", action="store_true", help="print one JSON object (answer, refused, citations, ...)")
    p.add_argument("--as-groups", type=_groups, metavar="A,B", help="answer as a member of these groups only")
    _generator_options(p)

    p = verbs.add_parser("eval", help="evaluate on a dataset (seed, seed_hard, clapnq, squad, hotpotqa, or a JSONL path)")
    p.add_argument("dataset", nargs="?", help="seed | seed_hard | clapnq | squad | hotpotqa | path to a JSONL eval set")
    p.add_argument("--split", choices=["tune", "test"], help="only the tune or the test half (clapnq, squad)")
    p.add_argument("--naive", action="store_true", help="score the naive RAG baseline instead of the assistant")
    p.add_argument("--retrieval", action="store_true", help="score retrieval only (dense, BM25, hybrid side by side)")
    p.add_argument("--limit", type=int, help="a fixed random sample of N questions")
    p.add_argument("--seed", type=int, default=0, help="random seed of the sample")
    p.add_argument("--part", help="claims only: the parts whose name holds this text (e.g. 'HotpotQA', 'seed')")
    p.add_argument("--out", type=Path, help="results folder (default evals/results/<dataset>-<time>)")
    p.add_argument("--check", action="store_true", help="exit 1 when a metric is outside its threshold")
    p.add_argument("--thresholds", type=Path, default=PROJECT_ROOT / "evals" / "thresholds.json",
                   help="thresholds file (default evals/thresholds.json)")
    p.add_argument("--compare", nargs=2, type=Path, metavar=("OLD", "NEW"), help="compare two results folders")
    p.add_argument("--table", nargs="+", type=Path, metavar="DIR", help="results folders side by side (tune and test)")
    _generator_options(p)

    p = verbs.add_parser("serve", help="serve the browser chat and the JSON API (indexes the default corpus if the index is empty)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument("--users", type=Path, help="file of name:password:group,group lines (see `rag users`); each "
                   "user reads only the documents their groups may read")
    p.add_argument("--auth-file", type=Path, help="file of user:password lines (users without groups; default: "
                   "$RAG_AUTH; none of the three: no login)")
    _generator_options(p)

    p = verbs.add_parser("users", help="add or replace a login in a users file, with a hashed password")
    p.add_argument("file", type=Path, help="the users file (created if missing)")
    p.add_argument("name", help="the user's login name")
    p.add_argument("--groups", type=_groups, default=(), metavar="A,B", help="the groups the user belongs to")

    p = verbs.add_parser("feedback", help="ratings staff gave answers in the browser")
    actions = p.add_subparsers(dest="action", required=True)
    e = actions.add_parser("export", help="write the thumbs-down answers as eval items (JSONL, seed format)")
    e.add_argument("out", type=Path, help="JSONL file to write")

    p = verbs.add_parser("bench", help="speed benchmarks against raw baselines (prints tables, --json to save)")
    p.add_argument("part", choices=["search", "scale", "generation", "quality"],
                   help="search: indexing and search; scale: Ray indexing and Milvus search beside one process and "
                        "FAISS; generation: backends, end to end; quality: beside a naive RAG")
    p.add_argument("options", nargs=argparse.REMAINDER, help="options of that benchmark (see its --help)")

    verbs.add_parser("models", help="check the model packages and prepare their files (run by setup)")
    return parser


def _generator_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", choices=["llama.cpp", "transformers", "http"], help="generator backend (default llama.cpp)")
    p.add_argument("--model", help="generator model (default qwen2.5-1.5b; for http, the server's model id)")
    p.add_argument("--url", help="base URL of an OpenAI-compatible server, for --backend http")


def _with_generator(config: Config, args) -> Config:
    changes = {k: v for k, v in (("backend", args.backend), ("model", args.model), ("llm_url", args.url)) if v}
    return dataclasses.replace(config, **changes)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s: %(message)s")
    config = Config()
    if args.index:
        config = dataclasses.replace(config, index_dir=args.index)
    if args.vectors:
        config = dataclasses.replace(config, vectors=args.vectors)
    try:
        config = with_settings(config, args.set)
        return VERBS[args.verb](args, config)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def with_settings(config: Config, settings: list[str]) -> Config:
    """`config` with NAME=VALUE overrides, each value read as the type of the field's current value."""
    hints = typing.get_type_hints(type(config))
    changes = {}
    for setting in settings:
        name, sep, value = setting.partition("=")
        if not sep or name not in hints:
            raise ConfigError(f"--set {setting}: expected NAME=VALUE with NAME a setting of rag.config.Config")
        kind = type(getattr(config, name))
        options = typing.get_args(hints[name])
        optional = type(None) in options  # such as `float | None`: "none" unsets it
        if optional:
            kind = next(t for t in options if t is not type(None))
        try:
            if optional and value.lower() == "none":
                changes[name] = None
            elif kind is bool:
                if value.lower() not in ("true", "false", "1", "0", "on", "off"):
                    raise ValueError(value)
                changes[name] = value.lower() in ("true", "1", "on")
            else:
                changes[name] = kind(value)
        except ValueError:
            raise ConfigError(f"--set {setting}: {value!r} is not a {kind.__name__}") from None
    return dataclasses.replace(config, **changes)


def open_store(config: Config, *, create: bool):
    """The embedder and the index it belongs to."""
    from rag.embedding import load_embedder
    from rag.store import Store

    embedder = load_embedder(config.embedder)
    store = Store(config.index_dir, embedder=embedder.name, dim=embedder.dim, exact_limit=config.exact_limit, create=create,
                  vectors=config.vectors)
    return embedder, store


def _groups(value: str) -> tuple[str, ...]:
    """A comma-separated list of group names, as an argparse type."""
    from rag.indexing import check_groups

    try:
        return check_groups(value.split(","))
    except RagError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_index(args, config: Config) -> int:
    from rag.errors import LoadError
    from rag.indexing import index_path

    path = args.path or config.corpus_dir
    if not path.exists():
        raise LoadError(f"{path}: no such file or folder")
    embedder, store = open_store(config, create=True)
    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if args.quiet or not total:
            return
        if bar is None:
            from tqdm import tqdm

            unit = "chunk" if cluster is None else "document"  # Ray workers report whole documents
            bar = tqdm(total=total, unit=unit, desc="embedding", file=sys.stderr)
        bar.update(done - bar.n)

    cluster = None
    if args.ray is not None:
        from rag.scale.ray_indexing import RayCluster

        cluster = RayCluster(config, address=args.ray or None, workers=args.ray_workers)
    try:
        report = index_path(path, store, embedder, config, progress, readers=args.groups, cluster=cluster)
    finally:
        if cluster is not None:
            cluster.shutdown()
    if bar is not None:
        bar.close()
    for file, reason in report.failed:
        print(f"skipped {file}: {reason}", file=sys.stderr)
    docs, chunks = store.count()
    print(
        f"indexed {path}: {len(report.added)} added, {len(report.updated)} updated, {len(report.removed)} removed, "
        f"{report.unchanged} unchanged, {len(report.failed)} skipped; index {config.index_dir} holds {docs} documents, "
        f"{chunks} chunks"
    )
    return EXIT_SKIPPED if report.failed else 0


def cmd_search(args, config: Config) -> int:
    from rag.retrieval import Retriever

    embedder, store = open_store(config, create=False)
    hits = Retriever(store, embedder, config).search(args.query, args.k, mode=args.mode, doc_ids=args.doc,
                                                     groups=args.as_groups)
    for n, hit in enumerate(hits, 1):
        if args.json:
            print(json.dumps({"rank": n, "doc_id": hit.doc_id, "start": hit.start, "end": hit.end, "text": hit.text,
                              "score": hit.score, "title": hit.title, "dense_score": hit.dense_score,
                              "bm25_score": hit.bm25_score, "chunk_id": hit.chunk_id}, ensure_ascii=False))
        else:
            print(f"[{n}] {hit.doc_id} {hit.start}-{hit.end}  score {hit.score:.4f}  {hit.title}")
            print("    " + " ".join(hit.text.split())[:300])
    if not hits and not args.json:
        print("no matching passages")
    return 0


def cmd_ask(args, config: Config) -> int:
    from rag.pipeline import check_question, load_assistant
    from rag.types import Answer

    check_question(args.question)  # fail fast, before any model loads
    assistant = load_assistant(_with_generator(config, args))
    answer, streamed = None, ""
    for item in assistant.stream(args.question, groups=args.as_groups):
        if isinstance(item, Answer):
            answer = item
        elif not args.json:
            streamed += item
            print(item, end="", flush=True)
    if args.json:
        print(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
        return 0
    if streamed:
        print()
    if " ".join(streamed.split()) != answer.text:  # sentences were dropped or re-cited, or it is a refusal
        print(("\nChecked answer: " if streamed else "") + answer.text)
    if answer.refused:
        if answer.hits:
            print("\nClosest passages:")
            for hit in answer.hits[:3]:
                print(f"  {hit.doc_id} {hit.start}-{hit.end}: {' '.join(hit.text.split())[:160]}")
        return 0
    print("\nSources:")
    for c in answer.citations:
        print(f"  [{c.n}] {c.title} ({c.doc_id}, chars {c.start}-{c.end})")
        print(f"      \"{' '.join(c.quote.split())}\"")
    if answer.unsupported:
        print("\nLeft out, not supported by the sources:")
        for sentence in answer.unsupported:
            print(f"  - {sentence}")
    return 0


def cmd_eval(args, config: Config) -> int:
    from rag.evals.evaluation import compare

    if args.compare:
        print(compare(*args.compare))
        return 0
    if args.table:
        from rag.evals.evaluation import side_by_side

        print(side_by_side(args.table))
        return 0
    if args.dataset == "claims":
        return eval_claims(args, config)
    if not args.dataset:
        raise RagError("name a dataset (seed, seed_hard, clapnq, squad, hotpotqa or a JSONL file), "
                       "or give --compare OLD NEW or --table DIR...")
    import time

    from tqdm import tqdm

    from rag.evals.datasets import load_dataset
    from rag.embedding import load_embedder
    from rag.evals.evaluation import check, eval_index, format_table, retrieval_table, run_eval, write_results
    from rag.evals.naive import NaiveRAG
    from rag.pipeline import load_assistant

    dataset = load_dataset(args.dataset, args.split).sample(args.limit, args.seed)
    config = _with_generator(config, args)
    embedder = load_embedder(config.embedder)
    if args.retrieval:
        print(format_table(retrieval_table(dataset, config, embedder)))
        return 0
    assistant = load_assistant(config, embedder=embedder, store=eval_index(dataset, config, embedder),
                               kind=NaiveRAG if args.naive else None)
    with tqdm(total=len(dataset.items), unit="question", desc=f"eval {dataset.name}", file=sys.stderr) as bar:
        rows, summary = run_eval(dataset, assistant, on_item=lambda i, row: bar.update(1))
    name = dataset.name + (f"-{args.limit}" if args.limit else "") + ("-naive" if args.naive else "")
    out = args.out or PROJECT_ROOT / "evals" / "results" / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    write_results(rows, summary, out, name)
    width = max(map(len, summary))
    for key, value in summary.items():
        print(f"{key:<{width}}  {value}")
    print(f"results: {out}/report.md")
    if args.check:
        thresholds = json.loads(args.thresholds.read_text()).get(dataset.name)
        if thresholds is None:
            raise RagError(f"{args.thresholds} has no thresholds for dataset {dataset.name!r}")
        problems = check(summary, thresholds)
        for problem in problems:
            print(f"quality gate: {problem}", file=sys.stderr)
        if problems:
            return EXIT_ERROR
        print(f"quality gate: all {len(thresholds)} metrics within thresholds")
    return 0


def eval_claims(args, config: Config) -> int:
    """Score the verifier on the labelled claim set: tune and test halves and the seed corpus part side by side."""
    import time

    from tqdm import tqdm

    from rag.evals.claims import build, build_pairs, build_seed, decide, precision_recall, score
    from rag.evals.evaluation import write_jsonl
    from functools import cache, partial

    from rag.generation import make_generator, yes_probability
    from rag.verification import Verifier

    config = _with_generator(config, args)
    verifier = Verifier(partial(yes_probability, make_generator(config.backend, config.model, url=config.llm_url)),
                        support_examples=config.support_examples)
    out = args.out or PROJECT_ROOT / "evals" / "results" / f"claims-{time.strftime('%Y%m%d-%H%M%S')}"
    table = []
    parts = [(split, split, partial(build, split, args.limit or 40, args.seed)) for split in ("tune", "test")]
    parts.append(("tune, seed corpus", "tune-seed_corpus", build_seed))
    pairs = cache(build_pairs)
    for split in ("tune", "held"):
        parts.append((f"{split}, HotpotQA pairs", f"{split}-hotpotqa_pairs",
                      lambda split=split: [c for c in pairs() if c.split == split]))
    if args.part:
        parts = [part for part in parts if args.part in part[0]]
    for name, stem, make in parts:
        claims = make()
        with tqdm(total=len(claims), unit="claim", desc=f"claims {name}", file=sys.stderr) as bar:
            rows = score(claims, verifier, on_item=lambda i: bar.update(1))
        write_jsonl(rows, out / f"{stem}.jsonl")
        figures = precision_recall(rows, lambda r: decide(r, config.support_min, config.answers_min))
        table.append({"split": name, **figures})
    from rag.evals.evaluation import format_table

    print(format_table(table))
    print(f"results: {out}")
    return 0


def cmd_serve(args, config: Config) -> int:
    from rag.web.ui import serve

    serve(_with_generator(config, args), host=args.host, port=args.port, auth=args.auth_file, users=args.users)
    return 0


def cmd_users(args, config: Config) -> int:
    import getpass

    from rag.web.users import add_user

    if sys.stdin.isatty():
        password = getpass.getpass(f"password for {args.name}: ")
        if getpass.getpass("again: ") != password:
            raise ConfigError("the two passwords differ")
    else:  # piped: the first line of standard input
        password = sys.stdin.readline().rstrip("\n")
    add_user(args.file, args.name, password, args.groups)
    print(f"{args.file}: {args.name} can log in" + (f" (groups {', '.join(args.groups)})" if args.groups else ""))
    return 0


def cmd_feedback(args, config: Config) -> int:
    from rag.web.feedback import export, feedback_path

    count = export(feedback_path(config), args.out)
    print(f"wrote {count} thumbs-down answers to {args.out}")
    return 0


def cmd_bench(args, config: Config) -> int:
    if args.part == "search":
        from rag.bench.search import main as bench
    elif args.part == "scale":
        from rag.bench.scale import main as bench
    elif args.part == "quality":
        from rag.bench.quality import main as bench
    else:
        from rag.bench.generation import main as bench
    return bench(args.options)


def cmd_models(args, config: Config) -> int:
    from rag.models import EMBEDDERS, GENERATORS, embedder_path, gguf_path

    from rag.embedding import load_embedder

    embedder = load_embedder(config.embedder)  # loading checks the package and its weights
    print(f"embedder {config.embedder}: {embedder_path(config.embedder) if config.embedder in EMBEDDERS else type(embedder.model).__module__}")
    for name in GENERATORS:
        print(f"generator {name}: {gguf_path(name)}")
    return 0


VERBS = {"index": cmd_index, "search": cmd_search, "ask": cmd_ask, "eval": cmd_eval, "serve": cmd_serve,
         "feedback": cmd_feedback, "bench": cmd_bench, "models": cmd_models, "users": cmd_users}

if __name__ == "__main__":
    sys.exit(main())
