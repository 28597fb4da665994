"""Read txt, md, html, pdf, docx, pptx, xlsx, csv, epub and odt files into Documents whose `text` all offsets
refer to. A table (csv, a spreadsheet's sheets) becomes one paragraph per row that names each value's
column ("Office: Berlin; Staff: 12"), so a row read alone, or quoted, still says what its numbers are;
a row being a paragraph, a quote is one row, not the whole sheet."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from rag.errors import LoadError
from rag.types import Document

log = logging.getLogger(__name__)

SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx", ".pptx", ".xlsx", ".csv", ".epub", ".odt")
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
    elif suffix == ".pptx":
        text, title = _pptx_text(path)
    elif suffix == ".xlsx":
        text, title = _xlsx_text(path)
    elif suffix == ".csv":
        text, title = _csv_text(path, _decode_text(path, data)), ""
    elif suffix == ".epub":
        text, title = _epub_text(path)
    elif suffix == ".odt":
        text, title = _odt_text(path)
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
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
        scans = {n: [image.image for image in page.images] for n, page in enumerate(reader.pages) if not pages[n]}
        title = str((reader.metadata or {}).get("/Title") or "")
    except LoadError:
        raise
    except Exception as exc:  # pypdf raises many types on damaged files; each becomes one message
        reason = "encrypted PDF, needs a password" if "decrypt" in str(exc).lower() else f"corrupt PDF ({exc})"
        raise LoadError(f"{path}: {reason}") from exc
    unread = False
    for n, images in scans.items():
        if images:
            pages[n] = _ocr(path, n + 1, images)
            unread |= pages[n] is None
    text = "\n\n".join(page for page in pages if page)
    if unread and not text:
        raise LoadError(f"{path}: a scan without a text layer, and Tesseract (tesseract-ocr) is not installed to read it")
    return text, title


def _ocr(path: Path, page: int, images) -> str | None:
    """The text of a scanned page (one without a text layer) read from its images by Tesseract, a
    paragraph per block; None, with a one-line warning, when Tesseract is not installed."""
    import pytesseract

    try:
        raw = "\n\n".join(pytesseract.image_to_string(image) for image in images)
    except pytesseract.TesseractNotFoundError:
        log.warning("%s: page %d is a scan and Tesseract is not installed (apt-get install tesseract-ocr); skipped",
                    path, page)
        return None
    log.warning("%s: page %d has no text layer; its text was read by OCR", path, page)
    paragraphs = (" ".join(part.split()) for part in re.split(r"\n\s*\n", raw))
    return "\n\n".join(p for p in paragraphs if p)


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


def _pptx_text(path: Path) -> tuple[str, str]:
    """Each slide in order: "Slide n", its text boxes and tables top to bottom, then its notes."""
    import pptx

    try:
        deck = pptx.Presentation(str(path))
        blocks = []
        for number, slide in enumerate(deck.slides, 1):
            blocks.append(f"Slide {number}")
            shapes = sorted(slide.shapes, key=lambda s: (s.top or 0, s.left or 0))
            for shape in shapes:
                if shape.has_text_frame:
                    blocks += [" ".join(p.text.split()) for p in shape.text_frame.paragraphs]
                elif getattr(shape, "has_table", False) and shape.has_table:
                    rows = [[cell.text for cell in row.cells] for row in shape.table.rows]
                    blocks += _row_lines(rows)
            if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
                notes = " ".join(slide.notes_slide.notes_text_frame.text.split())
                if notes:
                    blocks.append(f"Notes: {notes}")
        title = deck.core_properties.title or ""
    except Exception as exc:  # python-pptx surfaces zip, XML and key errors for damaged files
        raise LoadError(f"{path}: corrupt PPTX ({type(exc).__name__}: {exc})") from exc
    return "\n\n".join(b for b in blocks if b), title


def _xlsx_text(path: Path) -> tuple[str, str]:
    """Each sheet under its name, a line per row; the first non-empty row names the columns."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            sheets = [(sheet.title, [list(row) for row in sheet.iter_rows(values_only=True)]) for sheet in book.worksheets]
            title = book.properties.title or ""
        finally:
            book.close()
    except Exception as exc:  # openpyxl raises zip, XML and value errors for damaged files
        raise LoadError(f"{path}: corrupt XLSX ({type(exc).__name__}: {exc})") from exc
    parts = []
    for name, rows in sheets:
        lines = _row_lines(rows)
        if lines:
            parts.append("\n\n".join([f"Sheet {name}", *lines]))
    return "\n\n".join(parts), title


def _csv_text(path: Path, text: str) -> str:
    import csv
    import io

    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), dialect, strict=True))
    except csv.Error as exc:
        raise LoadError(f"{path}: malformed CSV ({exc})") from None
    return "\n\n".join(_row_lines(rows))


def _row_lines(rows) -> list[str]:
    """Table rows as lines "Column: value; Column: value" under the first non-empty row's names; a
    column without a name, or a table of one row, keeps its values bare."""
    rows = [[_cell(v) for v in row] for row in rows]
    rows = [row for row in rows if any(row)]
    if len(rows) < 2:
        return ["; ".join(v for v in row if v) for row in rows]
    header, lines = rows[0], ["; ".join(v for v in rows[0] if v)]
    for row in rows[1:]:
        named = [f"{header[i]}: {v}" if i < len(header) and header[i] else v for i, v in enumerate(row) if v]
        lines.append("; ".join(named))
    return lines


def _cell(value) -> str:
    import datetime

    if value is None:
        return ""
    if isinstance(value, datetime.datetime) and value.time() == datetime.time():
        value = value.date()  # a spreadsheet date, stored as midnight
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split())


def _epub_text(path: Path) -> tuple[str, str]:
    """The book's visible text in reading order (the spine of its package file), chapter after chapter."""
    import posixpath
    import zipfile

    from lxml import etree

    try:
        with zipfile.ZipFile(path) as book:
            container = etree.fromstring(book.read("META-INF/container.xml"))
            opf_path = container.xpath("//*[local-name()='rootfile']/@full-path")[0]
            opf = etree.fromstring(book.read(opf_path))
            items = {i.get("id"): i.get("href") for i in opf.xpath("//*[local-name()='manifest']/*[local-name()='item']")}
            order = opf.xpath("//*[local-name()='spine']/*[local-name()='itemref']/@idref")
            title = " ".join(opf.xpath("string(//*[local-name()='metadata']/*[local-name()='title'])").split())
            folder = posixpath.dirname(opf_path)
            chapters = [book.read(posixpath.normpath(posixpath.join(folder, items[ref]))).decode("utf-8")
                        for ref in order if ref in items]
    except Exception as exc:  # zip, XML, missing parts and bad encodings of a damaged book
        raise LoadError(f"{path}: corrupt EPUB ({type(exc).__name__}: {exc})") from exc
    texts = [_html_text(chapter)[0] for chapter in chapters]
    return "\n\n".join(t for t in texts if t), title


def _odt_text(path: Path) -> tuple[str, str]:
    """An OpenDocument text's headings and paragraphs in order (tables cell by cell, lists item by item)."""
    import zipfile

    from lxml import etree

    text_ns = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
    try:
        with zipfile.ZipFile(path) as archive:
            content = etree.fromstring(archive.read("content.xml"))
            meta = etree.fromstring(archive.read("meta.xml")) if "meta.xml" in archive.namelist() else None
    except Exception as exc:  # zip and XML errors of a damaged file
        raise LoadError(f"{path}: corrupt ODT ({type(exc).__name__}: {exc})") from exc
    blocks = []
    for element in content.iter(f"{{{text_ns}}}p", f"{{{text_ns}}}h"):
        blocks.append(" ".join("".join(_odt_strings(element)).split()))
    title = " ".join(meta.xpath("string(//*[local-name()='title'])").split()) if meta is not None else ""
    return "\n\n".join(b for b in blocks if b), title


def _odt_strings(element):
    """The text of one paragraph: its own text and its spans', with <text:s/> as a space and
    <text:tab/> and <text:line-break/> as whitespace; a note inside a paragraph is left out."""
    if element.text:
        yield element.text
    for child in element:
        tag = _local_name(child.tag)
        if tag in ("s", "tab", "line-break"):
            yield " "
        elif tag not in ("note", "annotation", "p", "h"):  # a nested paragraph is a block of its own
            yield from _odt_strings(child)
        if child.tail:
            yield child.tail


def _local_name(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""
