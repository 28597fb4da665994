"""Generation and end-to-end speed: each backend on the same model and prompts, beside the memory-bandwidth limit.

python -m rag.bench.generation [--backends llama.cpp,transformers,http] [--prompts N] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from rag.bench.search import format_rows, peak_rss_mb
from rag.config import Config
from rag.evals.metrics import percentile

COLUMNS = ["backend", "load_s", "prompts", "prompt_tokens", "ttft_p50_s", "total_p50_s", "prefill_tok_s",
           "decode_tok_s", "model_gb_per_token", "bandwidth_gb_s", "limit_tok_s", "decode_vs_limit"]


def memory_bandwidth_gb_s(size_mb: int = 512, repeats: int = 5) -> float:
    """Best of a few large array copies (bytes read + bytes written per second)."""
    src = np.ones(size_mb * (1 << 20) // 8)
    dst = np.empty_like(src)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - started)
    return 2 * src.nbytes / best / 1e9


def seed_prompts(config: Config, n: int) -> list[list[dict]]:
    """The answer prompts the pipeline builds for the first n answerable seed questions."""
    from rag.evals.datasets import load_seed
    from rag.embedding import load_embedder
    from rag.evals.evaluation import eval_index
    from rag.generation import LlamaCppGenerator
    from rag.prompting import build_messages, select_passages
    from rag.retrieval import Retriever

    dataset = load_seed()
    embedder = load_embedder(config.embedder)
    retriever = Retriever(eval_index(dataset, config, embedder), embedder, config)
    counter = LlamaCppGenerator(config.model)
    prompts = []
    for item in [it for it in dataset.items if it.answerable][:n]:
        hits = retriever.search(item.question, config.top_k)
        passages = select_passages(hits, embedder.encode_queries([item.question])[0], embedder.encode, counter.count_tokens,
                                   budget=config.passage_tokens, limit=config.prompt_passages)
        prompts.append(build_messages(item.question, passages))
    return prompts


def bench_backend(name: str, make, prompts: list[list[dict]], count_tokens, model_bytes: float, bandwidth: float,
                  max_tokens: int) -> dict:
    """Load time, then time to first token and decode speed on each prompt, greedy."""
    started = time.perf_counter()
    generator = make()
    if hasattr(generator, "load"):
        generator.load()
    load_s = time.perf_counter() - started
    ttfts, totals, decode_rates, prefill_rates, prompt_tokens = [], [], [], [], []
    for messages in prompts:
        n_prompt = sum(count_tokens(m["content"]) for m in messages)
        started = time.perf_counter()
        first, text = None, ""
        for piece in generator.stream(messages, max_tokens=max_tokens):
            if first is None:
                first = time.perf_counter() - started
            text += piece
        total = time.perf_counter() - started
        n_out = count_tokens(text)
        ttfts.append(first or total)
        totals.append(total)
        prompt_tokens.append(n_prompt)
        prefill_rates.append(n_prompt / (first or total))
        if n_out > 1 and total > (first or 0):
            decode_rates.append((n_out - 1) / (total - first))
    decode = float(np.median(decode_rates)) if decode_rates else 0.0
    limit = bandwidth / (model_bytes / 1e9)
    return {"backend": name, "load_s": round(load_s, 2), "prompts": len(prompts),
            "prompt_tokens": int(np.median(prompt_tokens)), "ttft_p50_s": round(percentile(ttfts, 50), 2),
            "total_p50_s": round(percentile(totals, 50), 2), "prefill_tok_s": round(float(np.median(prefill_rates)), 1),
            "decode_tok_s": round(decode, 1), "model_gb_per_token": round(model_bytes / 1e9, 2),
            "bandwidth_gb_s": round(bandwidth, 1), "limit_tok_s": round(limit, 1),
            "decode_vs_limit": round(decode / limit, 2) if limit else None}


class _Server:
    """llama-cpp-python's OpenAI-compatible server on a free loopback port, for the http backend."""

    def __init__(self, model_path: Path):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.log = tempfile.TemporaryFile("w+")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(model_path), "--host", "127.0.0.1",
             "--port", str(self.port), "--n_ctx", "4096", "--n_threads", str(os.cpu_count())],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"

    def wait(self, timeout: float = 300) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("the llama.cpp server exited")
            try:
                if httpx.get(f"{self.url}/v1/models", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
        raise RuntimeError("the llama.cpp server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag.bench.generation", description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="llama.cpp,http,transformers", help="comma-separated backends")
    parser.add_argument("--prompts", type=int, default=5, help="seed questions whose prompts are timed")
    parser.add_argument("--max-tokens", type=int, default=64, help="tokens generated per prompt")
    parser.add_argument("--end-to-end", action="store_true", help="also time the whole pipeline on the seed set")
    parser.add_argument("--json", type=Path, help="write the results to this file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    from rag.generation import LlamaCppGenerator, OpenAIGenerator, TransformersGenerator
    from rag.models import gguf_path

    config = Config()
    prompts = seed_prompts(config, args.prompts)
    counter = LlamaCppGenerator(config.model)  # one tokenizer counts for every backend: same weights
    gguf = gguf_path(config.model)
    bandwidth = memory_bandwidth_gb_s()
    rows = []
    for backend in args.backends.split(","):
        if backend == "llama.cpp":
            rows.append(bench_backend("llama.cpp (in-process)", lambda: LlamaCppGenerator(config.model), prompts,
                                      counter.count_tokens, gguf.stat().st_size, bandwidth, args.max_tokens))
        elif backend == "http":
            server = _Server(gguf)
            try:
                rows.append(bench_backend("http (llama.cpp server)", lambda: (server.wait(), OpenAIGenerator(server.url))[1],
                                          prompts, counter.count_tokens, gguf.stat().st_size, bandwidth, args.max_tokens))
            finally:
                server.stop()
        elif backend == "transformers":
            make = lambda: TransformersGenerator(config.model)
            model = make()
            model.load()  # the one-time conversion is not part of a start
            params = sum(p.numel() for p in model._model.parameters())
            rows.append(bench_backend("transformers (bf16)", make, prompts, counter.count_tokens, params * 2,
                                      bandwidth, args.max_tokens))
            del model
    print(f"Generation: {config.model}, {len(prompts)} seed prompts, greedy, {args.max_tokens} tokens at most, "
          f"{os.cpu_count()} cores")
    print(format_rows(rows, COLUMNS))
    results = {"generation": rows, "peak_rss_mb": peak_rss_mb()}
    if args.end_to_end:
        results["end_to_end"] = end_to_end(config)
        print("\nEnd to end over the seed questions (seconds):")
        print(format_rows([results["end_to_end"]]))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


def end_to_end(config: Config) -> dict:
    """p50/p95 per stage over the seed questions, with the default backend."""
    from rag.evals.datasets import load_seed
    from rag.embedding import load_embedder
    from rag.evals.evaluation import eval_index, run_eval
    from rag.pipeline import load_assistant

    dataset = load_seed()
    embedder = load_embedder(config.embedder)
    assistant = load_assistant(config, embedder=embedder, store=eval_index(dataset, config, embedder))
    _, summary = run_eval(dataset, assistant)
    return {k: v for k, v in summary.items() if k.endswith(("_p50", "_p95"))}


if __name__ == "__main__":
    raise SystemExit(main())
