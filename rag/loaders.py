"""Read txt, md, html, pdf and docx files into Documents whose `text` all offsets refer to."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from rag.errors import LoadError
from rag.types import Document

log = logging.getLogger(__name__)

SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx")
MANIFEST = "MANIFEST.json"

# Elements whose text a reader never sees as content.
_HTML_HIDDEN = ["script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form", "svg", "iframe", "button"]
_HTML_BLOCKS = [
    "p", "div", "section", "article", "main", "li", "ul", "ol", "table", "tr", "td", "th", "h1", "h2", "h3",
    "h4", "h5", "h6", "blockquote", "pre", "dd", "dt", "figcaption", "caption",
]


def find_files(root: Path) -> list[Path]:
    """Supported files under `root` (or `root` itself), sorted, skipping hidden ones."""
    if root.is_file():
        return [root]
    files = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.suffix.lower() in SUFFIXES and (path.is_file() or path.is_symlink()):
            files.append(path)
    return files


def read_manifest(folder: Path) -> dict[str, dict]:
    """Per-file metadata from `folder/MANIFEST.json`, keyed by file name; {} when there is none."""
    manifest = folder / MANIFEST
    if not manifest.is_file():
        return {}
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        return {entry["file"]: entry for entry in data.get("documents", [])}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("%s: ignored, not a valid manifest (%s)", manifest, exc)
        return {}


def load_document(path: Path, root: Path, meta: dict | None = None) -> Document:
    """Load one file; raises LoadError naming the file and the reason."""
    doc_id = path.name if root == path else path.relative_to(root).as_posix()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise LoadError(f"{path}: file not found") from None
    except OSError as exc:
        raise LoadError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not data.strip():
        raise LoadError(f"{path}: empty file")
    suffix = path.suffix.lower()
    if suffix in (".txt", ".md", ".markdown"):
        text, title = _decode_text(path, data), ""
        if suffix != ".txt":
            title = _markdown_title(text)
    elif suffix in (".html", ".htm"):
        text, title = _html_text(_decode_text(path, data))
    elif suffix == ".pdf":
        text, title = _pdf_text(path)
    elif suffix == ".docx":
        text, title = _docx_text(path)
    else:
        raise LoadError(f"{path}: unsupported file type {suffix!r}")
    if not text.strip():
        raise LoadError(f"{path}: no text could be extracted")
    meta = meta or {}
    return Document(
        doc_id=doc_id,
        title=meta.get("title") or title or _first_line(text) or path.stem,
        text=text,
        source=meta.get("source", ""),
        date=meta.get("date", ""),
        path=str(path.resolve()),
    )


def load_folder(root: Path) -> tuple[list[Document], list[tuple[str, str]]]:
    """Every readable document under `root`, and (path, reason) for each file that was skipped."""
    if not root.exists():
        raise LoadError(f"{root}: no such file or folder")
    documents, failures = [], []
    base = root.parent if root.is_file() else root
    manifests: dict[Path, dict] = {}
    for path in find_files(root):
        if path.parent not in manifests:
            manifests[path.parent] = read_manifest(path.parent)
        try:
            documents.append(load_document(path, base, manifests[path.parent].get(path.name)))
        except LoadError as exc:
            failures.append((str(path), str(exc).removeprefix(f"{path}: ")))
    return documents, failures


def _decode_text(path: Path, data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise LoadError(f"{path}: binary data, not text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LoadError(f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None
    return text.removeprefix("\ufeff")


def _markdown_title(text: str) -> str:
    match = re.search(r"^#\s+(.+?)\s*#*\s*$", text, re.MULTILINE)
    return match.group(1) if match else ""


def _first_line(text: str) -> str:
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return line if len(line) <= 80 else ""


def _html_text(html: str) -> tuple[str, str]:
    """Visible text of a page: paragraphs separated by blank lines, whitespace folded inside them."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "lxml")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup.find_all(_HTML_HIDDEN):
        tag.decompose()
    for tag in soup.find_all(["head", "title"]):
        tag.decompose()
    for tag in soup.find_all(lambda t: t.has_attr("hidden") or t.get("aria-hidden") == "true"):
        tag.decompose()
    for tag in soup.find_all("br"):
        tag.replace_with("\n\n")
    for tag in soup.find_all(_HTML_BLOCKS):
        tag.insert_before("\n\n")
        tag.insert_after("\n\n")
    paragraphs = (" ".join(part.split()) for part in re.split(r"\n\s*\n", soup.get_text()))
    return "\n\n".join(p for p in paragraphs if p), title


def _pdf_text(path: Path) -> tuple[str, str]:
    import pypdf

    try:
        reader = pypdf.PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError(f"{path}: encrypted PDF, needs a password")
        pages = [page.extract_text() or "" for page in reader.pages]
        title = str((reader.metadata or {}).get("/Title") or "")
    except LoadError:
        raise
    except Exception as exc:  # pypdf raises many types on damaged files; each becomes one message
        reason = "encrypted PDF, needs a password" if "decrypt" in str(exc).lower() else f"corrupt PDF ({exc})"
        raise LoadError(f"{path}: {reason}") from exc
    return "\n\n".join(page.strip() for page in pages if page.strip()), title


def _docx_text(path: Path) -> tuple[str, str]:
    import docx

    try:
        document = docx.Document(str(path))
    except Exception as exc:  # python-docx surfaces zip, XML and key errors for damaged files
        raise LoadError(f"{path}: corrupt DOCX ({type(exc).__name__}: {exc})") from exc
    blocks = [p.text.strip() for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            blocks.append(" | ".join(cell.text.strip() for cell in row.cells))
    return "\n\n".join(b for b in blocks if b), document.core_properties.title or ""
