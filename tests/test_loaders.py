import os
from pathlib import Path

import pytest

from rag.errors import LoadError
from rag.loaders import load_document, load_folder


def write_pdf(path: Path, lines: list[str], password: str | None = None) -> None:
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path))
    y = 800
    for line in lines:
        c.drawString(72, y, line)
        y -= 20
    c.save()
    if password:
        import pypdf

        reader = pypdf.PdfReader(path)
        writer = pypdf.PdfWriter()
        for page in reader.pages:
            writer.add_page(page)
        writer.encrypt(password, algorithm="RC4-128")
        with open(path, "wb") as f:
            writer.write(f)


def write_docx(path: Path, paragraphs: list[str], title: str = "") -> None:
    import docx

    d = docx.Document()
    d.core_properties.title = title
    for p in paragraphs:
        d.add_paragraph(p)
    d.save(str(path))


def test_text_and_markdown(tmp_path):
    (tmp_path / "a.txt").write_text("\ufeffFirst line\n\nBody text.", encoding="utf-8")
    (tmp_path / "b.md").write_text("Intro\n\n# The Title\n\nBody.", encoding="utf-8")
    a = load_document(tmp_path / "a.txt", tmp_path)
    b = load_document(tmp_path / "b.md", tmp_path)
    assert (a.doc_id, a.title, a.text) == ("a.txt", "First line", "First line\n\nBody text.")
    assert (b.doc_id, b.title) == ("b.md", "The Title")


def test_html_keeps_visible_text_only(tmp_path):
    html = """<html><head><title>Page title</title><style>p {color: red}</style>
    <script>var secret = "do not index";</script></head><body>
    <nav><a href="/">Home</a> <a href="/about">About us</a></nav>
    <h1>Heading</h1><p>First   paragraph with <b>bold</b> text.</p><div hidden>hidden div</div>
    <p>Second<br>line</p><footer>Copyright footer</footer></body></html>"""
    (tmp_path / "p.html").write_text(html, encoding="utf-8")
    doc = load_document(tmp_path / "p.html", tmp_path)
    assert doc.title == "Page title"
    assert doc.text == "Heading\n\nFirst paragraph with bold text.\n\nSecond\n\nline"


def test_pdf_and_docx(tmp_path):
    write_pdf(tmp_path / "r.pdf", ["Quarterly report", "Revenue grew 7 percent."])
    write_docx(tmp_path / "m.docx", ["Meeting notes", "The budget was approved."], title="Minutes")
    pdf = load_document(tmp_path / "r.pdf", tmp_path)
    docx = load_document(tmp_path / "m.docx", tmp_path)
    assert "Revenue grew 7 percent." in pdf.text
    assert docx.text == "Meeting notes\n\nThe budget was approved." and docx.title == "Minutes"


def write_scan(path: Path, lines: list[str]) -> None:
    """A PDF whose only page is a picture of `lines`: no text layer, as a scanner makes it."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", (1700, 400), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=48)
    for i, line in enumerate(lines):
        draw.text((60, 60 + 90 * i), line, fill="black", font=font)
    image.save(path, "PDF", resolution=150)


def test_a_scanned_pdf_page_is_read_by_ocr_with_a_notice(tmp_path, caplog):
    import pypdf

    write_scan(tmp_path / "scan.pdf", ["The archive opens at nine on Mondays.", "Visitors sign in at the desk."])
    assert not pypdf.PdfReader(tmp_path / "scan.pdf").pages[0].extract_text().strip()  # really no text layer
    with caplog.at_level("WARNING", logger="rag.loaders"):
        doc = load_document(tmp_path / "scan.pdf", tmp_path)
    assert "The archive opens at nine on Mondays." in doc.text and "Visitors sign in at the desk." in doc.text
    (notice,) = [r.getMessage() for r in caplog.records]
    assert notice == f"{tmp_path / 'scan.pdf'}: page 1 has no text layer; its text was read by OCR"


def test_a_scan_without_tesseract_is_one_line_and_skipped(tmp_path, monkeypatch, caplog):
    import pytesseract

    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", str(tmp_path / "no-tesseract"))
    write_scan(tmp_path / "scan.pdf", ["The archive opens at nine."])
    with caplog.at_level("WARNING", logger="rag.loaders"), pytest.raises(LoadError) as error:
        load_document(tmp_path / "scan.pdf", tmp_path)
    assert str(error.value) == (f"{tmp_path / 'scan.pdf'}: a scan without a text layer, and Tesseract "
                                "(tesseract-ocr) is not installed to read it")
    assert "Tesseract is not installed" in caplog.records[0].getMessage()


def write_epub(path: Path, title: str, chapters: list[tuple[str, str]]) -> None:
    """A minimal EPUB: chapters (file name, XHTML body) in spine order, listed out of order in the manifest."""
    import zipfile

    manifest = "".join(f'<item id="c{i}" href="text/{name}" media-type="application/xhtml+xml"/>'
                       for i, (name, _) in reversed(list(enumerate(chapters))))
    spine = "".join(f'<itemref idref="c{i}"/>' for i in range(len(chapters)))
    with zipfile.ZipFile(path, "w") as book:
        book.writestr("mimetype", "application/epub+zip")
        book.writestr("META-INF/container.xml", '<?xml version="1.0"?><container version="1.0" '
                      'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
                      '<rootfile full-path="OEBPS/book.opf" media-type="application/oebps-package+xml"/>'
                      '</rootfiles></container>')
        book.writestr("OEBPS/book.opf", '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" '
                      'version="3.0"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
                      f'<dc:title>{title}</dc:title></metadata><manifest>{manifest}</manifest>'
                      f'<spine>{spine}</spine></package>')
        for name, body in chapters:
            book.writestr(f"OEBPS/text/{name}", f'<html xmlns="http://www.w3.org/1999/xhtml"><head><title>x</title>'
                          f'<style>p {{ color: red }}</style></head><body>{body}</body></html>')


def test_epub_chapters_in_reading_order(tmp_path):
    write_epub(tmp_path / "guide.epub", "Staff guide", [
        ("one.xhtml", "<h1>Arrival</h1><p>Badges are issued at the front desk.</p>"),
        ("two.xhtml", "<h1>Leave</h1><p>Leave requests go to your manager.</p>"),
    ])
    doc = load_document(tmp_path / "guide.epub", tmp_path)
    assert doc.title == "Staff guide"
    assert doc.text == ("Arrival\n\nBadges are issued at the front desk.\n\nLeave\n\n"
                        "Leave requests go to your manager.")


def write_odt(path: Path, body: str, title: str = "") -> None:
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", '<?xml version="1.0"?><office:document-content '
                         'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
                         'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
                         'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0">'
                         f'<office:body><office:text>{body}</office:text></office:body></office:document-content>')
        archive.writestr("meta.xml", '<?xml version="1.0"?><office:document-meta '
                         'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
                         'xmlns:dc="http://purl.org/dc/elements/1.1/">'
                         f'<office:meta><dc:title>{title}</dc:title></office:meta></office:document-meta>')


def test_odt_headings_paragraphs_and_tables_in_order(tmp_path):
    write_odt(tmp_path / "minutes.odt", title="Minutes", body=(
        '<text:h text:outline-level="1">Budget</text:h>'
        '<text:p>The budget was <text:span>approved</text:span>.<text:s/>Spending<text:tab/>starts in May.</text:p>'
        '<table:table><table:table-row><table:table-cell><text:p>Travel</text:p></table:table-cell>'
        '<table:table-cell><text:p>EUR 4,000</text:p></table:table-cell></table:table-row></table:table>'))
    doc = load_document(tmp_path / "minutes.odt", tmp_path)
    assert doc.title == "Minutes"
    assert doc.text == "Budget\n\nThe budget was approved. Spending starts in May.\n\nTravel\n\nEUR 4,000"


def test_pptx_slides_in_order_with_tables_and_notes(tmp_path):
    import pptx
    from pptx.util import Inches

    deck = pptx.Presentation()
    deck.core_properties.title = "Travel policy"
    first = deck.slides.add_slide(deck.slide_layouts[1])
    first.shapes.title.text = "Booking flights"
    first.placeholders[1].text_frame.text = "Staff must book economy class for flights under six hours."
    first.notes_slide.notes_text_frame.text = "Ask finance about exceptions."
    second = deck.slides.add_slide(deck.slide_layouts[5])
    second.shapes.title.text = "Daily allowances"
    table = second.shapes.add_table(2, 2, Inches(1), Inches(2), Inches(6), Inches(1)).table
    for (r, c), text in {(0, 0): "City", (0, 1): "Allowance", (1, 0): "Paris", (1, 1): "EUR 95"}.items():
        table.cell(r, c).text = text
    deck.save(str(tmp_path / "policy.pptx"))

    doc = load_document(tmp_path / "policy.pptx", tmp_path)
    assert doc.title == "Travel policy"
    assert doc.text == ("Slide 1\n\nBooking flights\n\nStaff must book economy class for flights under six hours."
                        "\n\nNotes: Ask finance about exceptions.\n\nSlide 2\n\nDaily allowances\n\nCity; Allowance"
                        "\n\nCity: Paris; Allowance: EUR 95")


def test_xlsx_rows_name_their_columns_sheet_by_sheet(tmp_path):
    import datetime

    import openpyxl

    book = openpyxl.Workbook()
    offices = book.active
    offices.title = "Offices"
    for row in [("Office", "Staff", "Opened"), (None, None, None), ("Berlin", 12, datetime.datetime(2019, 4, 1)),
                ("Lyon", 7.0, None)]:
        offices.append(row)
    book.create_sheet("Notes").append(["Figures as of March."])
    book.save(tmp_path / "offices.xlsx")

    doc = load_document(tmp_path / "offices.xlsx", tmp_path)
    assert doc.text == ("Sheet Offices\n\nOffice; Staff; Opened\n\nOffice: Berlin; Staff: 12; Opened: 2019-04-01\n\n"
                        "Office: Lyon; Staff: 7\n\nSheet Notes\n\nFigures as of March.")


@pytest.mark.parametrize("content", ["Office;Staff\nBerlin;12\n", "Office,Staff\r\nBerlin,12\r\n", "Office\tStaff\nBerlin\t12"])
def test_csv_rows_name_their_columns_whatever_the_delimiter(tmp_path, content):
    (tmp_path / "staff.csv").write_text(content, encoding="utf-8")
    doc = load_document(tmp_path / "staff.csv", tmp_path)
    assert doc.text == "Office; Staff\n\nOffice: Berlin; Staff: 12"
    assert doc.title == "Office; Staff"


def test_manifest_metadata_and_nested_ids(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x.txt").write_text("Some text here.", encoding="utf-8")
    (tmp_path / "sub" / "MANIFEST.json").write_text(
        '{"documents": [{"file": "x.txt", "source": "Wire", "date": "2025-01", "title": "X files"}]}'
    )
    docs, failures = load_folder(tmp_path)
    assert failures == []
    assert [(d.doc_id, d.title, d.source, d.date) for d in docs] == [("sub/x.txt", "X files", "Wire", "2025-01")]


@pytest.fixture
def bad_folder(tmp_path):
    (tmp_path / "good.txt").write_text("A perfectly good document.", encoding="utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.md").write_text("  \n\n ", encoding="utf-8")
    (tmp_path / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "latin1.txt").write_bytes("Caf\xe9 cr\xe8me".encode("latin-1"))
    (tmp_path / "corrupt.pdf").write_bytes(b"%PDF-1.4\n1 0 obj garbage garbage\n%%EOF")
    write_pdf(tmp_path / "locked.pdf", ["secret text"], password="hunter2")
    (tmp_path / "corrupt.docx").write_bytes(b"PK\x03\x04 not really a zip")
    (tmp_path / "corrupt.pptx").write_bytes(b"PK\x03\x04 not really a deck")
    (tmp_path / "corrupt.xlsx").write_bytes(b"not a workbook at all")
    (tmp_path / "corrupt.epub").write_bytes(b"PK\x03\x04 not really a book")
    (tmp_path / "corrupt.odt").write_bytes(b"PK\x03\x04 not really a text")
    (tmp_path / "quoted.csv").write_text('Office,Staff\n"Berlin,12\n', encoding="utf-8")
    os.symlink(tmp_path / "nowhere.txt", tmp_path / "dangling.txt")
    return tmp_path


EXPECTED_REASONS = {
    "empty.txt": "empty file",
    "blank.md": "empty file",
    "binary.txt": "binary data, not text",
    "latin1.txt": "not UTF-8 text (byte 0xe9 at offset 3)",
    "corrupt.pdf": "corrupt PDF",
    "locked.pdf": "encrypted PDF, needs a password",
    "corrupt.docx": "corrupt DOCX",
    "corrupt.pptx": "corrupt PPTX",
    "corrupt.xlsx": "corrupt XLSX",
    "corrupt.epub": "corrupt EPUB",
    "corrupt.odt": "corrupt ODT",
    "quoted.csv": "malformed CSV",
    "dangling.txt": "file not found",
}


def test_bad_files_are_reported_one_line_each_and_the_rest_loads(bad_folder):
    docs, failures = load_folder(bad_folder)
    assert [d.doc_id for d in docs] == ["good.txt"]
    reasons = {Path(path).name: reason for path, reason in failures}
    assert set(reasons) == set(EXPECTED_REASONS)
    for name, expected in EXPECTED_REASONS.items():
        assert reasons[name].startswith(expected), (name, reasons[name])
        assert "\n" not in reasons[name]


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read a file without permissions")
def test_unreadable_file(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text("x")
    path.chmod(0)
    with pytest.raises(LoadError, match=r"secret.txt: cannot read \(Permission denied\)"):
        load_document(path, tmp_path)


def test_unreadable_file_as_directory(tmp_path):
    (tmp_path / "folder.txt").mkdir()
    with pytest.raises(LoadError, match=r"folder.txt: cannot read \(Is a directory\)"):
        load_document(tmp_path / "folder.txt", tmp_path)


def test_missing_path(tmp_path):
    with pytest.raises(LoadError, match=r"nope: no such file or folder"):
        load_folder(tmp_path / "nope")
