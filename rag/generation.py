"""Chat generators behind one interface that streams text: llama.cpp, transformers, OpenAI-compatible HTTP."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from typing import Protocol

from rag.errors import GenerationError, ModelNotInstalledError
from rag.models import cache_dir, gguf_path

log = logging.getLogger(__name__)

Messages = list[dict[str, str]]


class Generator(Protocol):
    name: str

    def stream(self, messages: Messages, *, max_tokens: int = 256) -> Iterator[str]:
        """The reply to `messages`, piece by piece, greedy (deterministic)."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` in the model's own vocabulary."""
        ...


def generate(generator: Generator, messages: Messages, *, max_tokens: int = 256) -> str:
    """The whole reply at once: the streamed pieces joined."""
    return "".join(generator.stream(messages, max_tokens=max_tokens))


class LlamaCppGenerator:
    """A GGUF model run in-process by llama-cpp-python; loads on first use, once."""

    def __init__(self, model: str = "qwen2.5-1.5b", *, n_ctx: int = 4096, threads: int | None = None):
        self.name = f"llama.cpp:{model}"
        self.model = model
        self.n_ctx = n_ctx
        self.threads = threads
        self._llm = None
        self._lock = threading.Lock()  # one generation at a time: the model's state is not shareable

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
            for chunk in llm.create_chat_completion(messages=messages, stream=True, temperature=0.0, top_k=1,
                                                    max_tokens=max_tokens, seed=0):
                piece = chunk["choices"][0]["delta"].get("content")
                if piece:
                    yield piece

    def count_tokens(self, text: str) -> int:
        return len(self.load().tokenize(text.encode("utf-8"), add_bos=False, special=False))


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
