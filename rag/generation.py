"""Chat generators behind one interface that streams text: llama.cpp, transformers, OpenAI-compatible HTTP."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Protocol

from rag.errors import GenerationError, ModelNotInstalledError
from rag.models import cache_dir, gguf_path

log = logging.getLogger(__name__)
# Saved caches of prompt heads (instructions and worked examples) kept at once: one per kind of
# prompt (answer, each judge, each rewrite), with room for the languages' answer prompts.
PREFIXES_KEPT = 16

Messages = list[dict[str, str]]


class Generator(Protocol):
    name: str

    def stream(self, messages: Messages, *, max_tokens: int = 256) -> Iterator[str]:
        """The reply to `messages`, piece by piece, greedy (deterministic)."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` in the model's own vocabulary."""
        ...

    def first_token_probabilities(self, messages: Messages) -> dict[str, float]:
        """The most likely first tokens of the reply (text -> probability, the top 20 at least):
        the model as a one-word judge, and its own estimate that it will decline."""
        ...


def generate(generator: Generator, messages: Messages, *, max_tokens: int = 256) -> str:
    """The whole reply at once: the streamed pieces joined."""
    return "".join(generator.stream(messages, max_tokens=max_tokens))


def yes_probability(generator: Generator, messages: Messages) -> float:
    """P(the reply's first word is "yes"), against "no"."""
    return yes_share(generator.first_token_probabilities(messages))


def refusal_share(probabilities: dict[str, float], token: str) -> float:
    """The probability that the reply starts with `token` (NOT_FOUND): tokens of at least three
    characters that begin it."""
    return sum(p for t, p in probabilities.items() if len(t.strip()) >= 3 and token.startswith(t.strip()))


def _by_text(tokens: Iterable[tuple[str, float]]) -> dict[str, float]:
    """Token texts and their probabilities, most likely first; tokens that read the same are summed."""
    out: dict[str, float] = {}
    for text, p in tokens:
        out[text] = out.get(text, 0.0) + p
    return out


def yes_share(probabilities: dict[str, float]) -> float:
    """P(yes) / (P(yes) + P(no)) from next-token probabilities keyed by token text ("Yes", " no", ...);
    0.5 when the model puts no weight on either."""
    yes = no = 0.0
    for token, p in probabilities.items():
        word = token.strip().lower()
        if word == "yes":
            yes += p
        elif word == "no":
            no += p
    return yes / (yes + no) if yes + no > 0 else 0.5


class LlamaCppGenerator:
    """A GGUF model run in-process by llama-cpp-python; loads on first use, once."""

    def __init__(self, model: str = "qwen2.5-1.5b", *, n_ctx: int = 4096, threads: int | None = None):
        self.name = f"llama.cpp:{model}"
        self.model = model
        self.n_ctx = n_ctx
        self.threads = threads
        self._llm = None
        self._lock = threading.Lock()  # one generation at a time: the model's state is not shareable
        self._formatters: dict = {}
        self._prefixes: dict[tuple[int, ...], bytes] = {}  # system-message tokens -> their saved cache

    def load(self):
        if self._llm is None:
            try:
                from llama_cpp import Llama
            except ImportError:
                raise ModelNotInstalledError("llama-cpp-python is not installed: pip install llama-cpp-python") from None
            import os

            path = gguf_path(self.model)
            started = time.perf_counter()
            self._llm = Llama(model_path=str(path), n_ctx=self.n_ctx, n_threads=self.threads or os.cpu_count(),
                              n_batch=512, verbose=False, seed=0)
            log.info("loaded %s in %.1f s", path.name, time.perf_counter() - started)
        return self._llm

    def stream(self, messages: Messages, *, max_tokens: int = 256) -> Iterator[str]:
        with self._lock:
            llm = self.load()
            self._position(llm, messages)
            for chunk in llm.create_chat_completion(messages=messages, stream=True, temperature=0.0, top_k=1,
                                                    max_tokens=max_tokens, seed=0):
                piece = chunk["choices"][0]["delta"].get("content")
                if piece:
                    yield piece

    def count_tokens(self, text: str) -> int:
        return len(self.load().tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def first_token_probabilities(self, messages: Messages, top: int = 40) -> dict[str, float]:
        """One forward pass over the chat prompt, of the tokens not already in the model's cache (a
        stream() of the same messages afterwards reuses them)."""
        import numpy as np

        with self._lock:
            llm = self.load()
            tokens = self._position(llm, messages, from_head=True)
            done = min(llm.n_tokens, len(tokens) - 1)  # the last token is evaluated again for its logits
            _truncate(llm, done)
            llm.eval(tokens[done:])
            logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),)).astype(np.float64)
            probabilities = np.exp(logits - logits.max())
            probabilities /= probabilities.sum()
            best = sorted(np.argpartition(-probabilities, top)[:top], key=lambda i: -probabilities[i])
            return _by_text((llm.detokenize([int(i)]).decode("utf-8", errors="ignore"), float(probabilities[i]))
                            for i in best)

    def _position(self, llm, messages: Messages, *, from_head: bool = False) -> list[int]:
        """The chat prompt's tokens, with the model's cache cut to the longest prefix of them it holds
        (with `from_head`, to no more than what comes before the last user message).

        What comes before the last user message (the answer and judge instructions, and a judge's
        worked examples: the same for every question) is computed once, from an empty cache, and
        its cache saved, so a prompt that follows another kind of prompt does not pay for its
        instructions again. The answers judge's six examples, read afresh each time, took the median
        time to check an answer from 2.0 s to 4.7 s on seed_qa.

        `from_head` makes a judge's score independent of what was asked before: llama.cpp gives
        slightly different logits for tokens evaluated in other batches, and a judge prompt that
        shared the start of its question with the one before was evaluated from there. One answer
        scored 0.682, 0.690 asked again at once and 0.680 after another judge prompt.
        """
        tokens = self._prompt_tokens(messages)
        shared = _common_prefix(llm.input_ids[: llm.n_tokens], tokens)
        if messages and messages[0]["role"] == "system" and messages[-1]["role"] == "user":
            head = self._prompt_tokens(messages[:-1], generation_prompt=False)
            if len(head) < len(tokens) and tokens[: len(head)] == head and (shared < len(head) or from_head):
                saved = self._prefixes.get(tuple(head))
                if saved is not None:
                    if shared < len(head):
                        _restore(llm, saved, head)
                else:
                    _truncate(llm, 0)
                    llm.eval(head)
                    if len(self._prefixes) >= PREFIXES_KEPT:
                        self._prefixes.pop(next(iter(self._prefixes)))
                    self._prefixes[tuple(head)] = _snapshot(llm)
                shared = len(head)
        _truncate(llm, shared)
        return tokens

    def _prompt_tokens(self, messages: Messages, *, generation_prompt: bool = True) -> list[int]:
        """The chat prompt as the model's own chat template writes it (the one create_chat_completion uses)."""
        if not self._formatters:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            llm = self.load()
            for flag in (True, False):
                self._formatters[flag] = Jinja2ChatFormatter(
                    template=llm.metadata["tokenizer.chat_template"], add_generation_prompt=flag,
                    eos_token=llm._model.token_get_text(llm.token_eos()),
                    bos_token=llm._model.token_get_text(llm.token_bos()))
        result = self._formatters[generation_prompt](messages=messages)
        return self.load().tokenize(result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True)

def _common_prefix(a, b) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def _truncate(llm, n: int) -> None:
    """Keep the first n tokens of the model's cache. The logits in hand are then no longer those of
    the last token kept: llama-cpp-python (0.3.36) samples from them at once when the whole prompt
    is cached, so a prompt asked again right after its own reply got that reply continued, or nothing."""
    if n < llm.n_tokens:
        llm._ctx.kv_cache_seq_rm(-1, n, -1)
        llm.n_tokens = n
        llm._requires_eval = True


def _snapshot(llm) -> bytes:
    """The cache of sequence 0 (only the computed tokens, no logits)."""
    import ctypes

    import llama_cpp

    size = llama_cpp.llama_state_seq_get_size(llm._ctx.ctx, 0)
    buffer = (ctypes.c_uint8 * size)()
    written = llama_cpp.llama_state_seq_get_data(llm._ctx.ctx, buffer, size, 0)
    return bytes(buffer)[:written]


def _restore(llm, saved: bytes, tokens: list[int]) -> None:
    """Put back a cache saved by _snapshot for `tokens`."""
    import ctypes

    import llama_cpp

    llm._ctx.kv_cache_seq_rm(-1, 0, -1)
    buffer = (ctypes.c_uint8 * len(saved)).from_buffer_copy(saved)
    if not llama_cpp.llama_state_seq_set_data(llm._ctx.ctx, buffer, len(saved), 0):
        llm.n_tokens = 0
        llm.eval(tokens)
        return
    llm.input_ids[: len(tokens)] = tokens
    llm.n_tokens = len(tokens)
    llm._requires_eval = True  # the saved state holds no logits


class TransformersGenerator:
    """The same GGUF dequantized by transformers; converted once to safetensors in the model cache."""

    def __init__(self, model: str = "qwen2.5-1.5b", *, dtype: str = "bfloat16"):
        self.name = f"transformers:{model}"
        self.model_name = model
        self.dtype = dtype
        self._model = self._tokenizer = None
        self._lock = threading.Lock()

    def load(self):
        if self._model is None:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer

            converted = cache_dir() / f"{self.model_name}-hf"
            if not (converted / "config.json").is_file():
                path = gguf_path(self.model_name)
                log.info("converting %s for transformers (once)", path.name)
                tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
                model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=torch.float32)
                # Loaded without GGUF kernels the weights are plain dequantized tensors; saving them
                # needs the quantizer's marks removed.
                model.hf_quantizer = None
                if hasattr(model.config, "quantization_config"):
                    del model.config.quantization_config
                tmp = converted.with_name(converted.name + ".tmp")
                model.save_pretrained(tmp)
                tokenizer.save_pretrained(tmp)
                tmp.rename(converted)
            dtype = getattr(torch, self.dtype)
            self._tokenizer = AutoTokenizer.from_pretrained(converted, local_files_only=True)
            self._model = AutoModelForCausalLM.from_pretrained(converted, dtype=dtype, local_files_only=True).eval()
        return self._model, self._tokenizer

    def stream(self, messages: Messages, *, max_tokens: int = 256) -> Iterator[str]:
        import torch
        from transformers import TextIteratorStreamer

        with self._lock:
            model, tokenizer = self.load()
            inputs = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                                   return_dict=True)
            streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
            kwargs = dict(**inputs, max_new_tokens=max_tokens, do_sample=False, streamer=streamer)
            worker = threading.Thread(target=lambda: torch.inference_mode()(model.generate)(**kwargs), daemon=True)
            worker.start()
            yield from (piece for piece in streamer if piece)
            worker.join()

    def count_tokens(self, text: str) -> int:
        return len(self.load()[1](text, add_special_tokens=False)["input_ids"])

    def first_token_probabilities(self, messages: Messages, top: int = 40) -> dict[str, float]:
        import torch

        with self._lock:
            model, tokenizer = self.load()
            inputs = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                                   return_dict=True)
            with torch.inference_mode():
                logits = model(**inputs).logits[0, -1].float()
            best = torch.topk(torch.softmax(logits, dim=-1), top)
            return _by_text((tokenizer.decode([int(i)]), float(p)) for p, i in zip(best.values, best.indices))


class OpenAIGenerator:
    """Any server speaking OpenAI's /v1/chat/completions with streaming (vLLM, TGI, llama.cpp server)."""

    def __init__(self, base_url: str, model: str = "default", *, api_key: str = "", timeout: float = 120.0):
        self.name = f"http:{model}@{base_url}"
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.timeout = timeout

    def stream(self, messages: Messages, *, max_tokens: int = 256) -> Iterator[str]:
        import httpx

        body = {"model": self.model, "messages": messages, "stream": True, "temperature": 0.0, "max_tokens": max_tokens,
                "seed": 0}
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        url = f"{self.base_url}/v1/chat/completions"
        try:
            with httpx.stream("POST", url, json=body, headers=headers, timeout=self.timeout) as response:
                if response.status_code != 200:
                    response.read()
                    raise GenerationError(f"{url} answered {response.status_code}: {response.text[:200]}")
                for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    choices = json.loads(data).get("choices") or [{}]
                    piece = (choices[0].get("delta") or {}).get("content")
                    if piece:
                        yield piece
        except httpx.HTTPError as exc:
            raise GenerationError(f"cannot reach the model server at {self.base_url}: {exc}") from None

    def first_token_probabilities(self, messages: Messages) -> dict[str, float]:
        """From the server's top log-probabilities of the first reply token (vLLM, llama.cpp server, TGI)."""
        import math

        import httpx

        body = {"model": self.model, "messages": messages, "temperature": 0.0, "max_tokens": 1, "logprobs": True,
                "top_logprobs": 20, "seed": 0}
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        url = f"{self.base_url}/v1/chat/completions"
        try:
            response = httpx.post(url, json=body, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise GenerationError(f"cannot reach the model server at {self.base_url}: {exc}") from None
        if response.status_code != 200:
            raise GenerationError(f"{url} answered {response.status_code}: {response.text[:200]}")
        choice = (response.json().get("choices") or [{}])[0]
        content = ((choice.get("logprobs") or {}).get("content") or [{}])[0]
        top = content.get("top_logprobs") or []
        if not top:
            raise GenerationError(f"{url} returned no log-probabilities; the verifier needs a server that does")
        return _by_text((t["token"], math.exp(t["logprob"])) for t in top)

    def count_tokens(self, text: str) -> int:
        from rag.chunking import tiktoken_count

        return tiktoken_count(text)  # servers differ in how they expose tokenizers; cl100k is close enough


def make_generator(backend: str, model: str, *, url: str = "", threads: int | None = None) -> Generator:
    """A generator by backend name: llama.cpp, transformers or http."""
    if backend == "llama.cpp":
        return LlamaCppGenerator(model, threads=threads)
    if backend == "transformers":
        return TransformersGenerator(model)
    if backend == "http":
        if not url:
            raise GenerationError("the http backend needs a server URL (--url or RAG_LLM_URL)")
        return OpenAIGenerator(url, model)
    raise GenerationError(f"unknown backend {backend!r}; choose llama.cpp, transformers or http")
