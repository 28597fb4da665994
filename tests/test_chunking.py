import re

from hypothesis import given, settings
from hypothesis import strategies as st

from rag.chunking import chunk_document, sentence_spans, tiktoken_count
from rag.types import Document


def words(text: str) -> int:
    return len(re.findall(r"\w+|[^\w\s]", text)) + 2


def chunks_of(text: str, size=30, overlap=8, window=60, count=words):
    doc = Document("d.txt", "d", text)
    return chunk_document(doc, chunk_tokens=size, overlap_tokens=overlap, window=window, window_count=words, count=count)


sentence = st.text(alphabet="abcdefghij KLMNO,'’“”0123456789é中", min_size=1, max_size=80).map(lambda s: s.strip() + ".")
document_text = st.lists(
    st.tuples(sentence, st.sampled_from([" ", "  ", "\n", "\n\n", "\n \n\t", " \r\n\r\n"])), min_size=1, max_size=40
).map(lambda parts: "".join(s + sep for s, sep in parts))


@settings(max_examples=200, deadline=None)
@given(document_text, st.integers(5, 60), st.integers(0, 20))
def test_offsets_round_trip_and_cover_every_word(text, size, overlap):
    chunks = chunks_of(text, size=size, overlap=overlap, count=words)
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.text
        assert chunk.text == chunk.text.strip() and chunk.text
        assert words(chunk.text) <= 60
    covered = set()
    for chunk in chunks:
        covered.update(range(chunk.start, chunk.end))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())
    starts = [c.start for c in chunks]
    assert starts == sorted(starts)


@settings(max_examples=50, deadline=None)
@given(st.text(min_size=1, max_size=3000))
def test_any_text_round_trips(text):
    for chunk in chunks_of(text, size=20, overlap=5, window=40):
        assert text[chunk.start : chunk.end] == chunk.text
        assert words(chunk.text) <= 40


def test_chunks_end_on_sentence_boundaries_and_overlap():
    text = " ".join(f"Sentence number {i} says something short." for i in range(30))
    chunks = chunks_of(text, size=30, overlap=12)
    assert len(chunks) > 3
    for chunk in chunks:
        assert chunk.text.endswith(".") and chunk.text.startswith("Sentence")
    for a, b in zip(chunks, chunks[1:]):
        assert b.start < a.end, "consecutive chunks share a trailing sentence"


def test_paragraph_boundary_preferred_once_half_full():
    para1 = "Alpha one two three four five. Alpha six seven eight nine ten."
    para2 = "Beta one two three four five. Beta six seven eight nine ten."
    chunks = chunks_of(para1 + "\n\n" + para2, size=36, overlap=0)  # both fit in 36 tokens
    assert [c.text for c in chunks] == [para1, para2]


def test_window_enforced_with_the_embedders_own_count():
    text = "word " * 500
    chunks = chunks_of(text.strip(), size=1000, overlap=0, window=50)
    assert len(chunks) >= 10 and all(words(c.text) <= 50 for c in chunks)


def test_sentence_splitter_keeps_abbreviations_and_quotes():
    text = 'Dr. Smith met Mr. Li in the U.S. capital. He said “it works.” Then he left!'
    spans = [text[s:e] for s, e, _ in sentence_spans(text)]
    assert spans == ["Dr. Smith met Mr. Li in the U.S. capital.", "He said “it works.”", "Then he left!"]


def test_an_initial_does_not_end_a_sentence():
    text = "J. Smith wrote it. Gerald R. Ford International Airport is in Michigan. Then he left."
    spans = [text[s:e] for s, e, _ in sentence_spans(text)]
    assert spans == ["J. Smith wrote it.", "Gerald R. Ford International Airport is in Michigan.", "Then he left."]


def test_a_question_mark_inside_a_title_does_not_end_the_sentence():
    text = 'The sirens in "O Brother, Where Art Thou?" are three women. Who are they? Nobody knows… or cares.'
    spans = [text[s:e] for s, e, _ in sentence_spans(text)]
    assert spans == ['The sirens in "O Brother, Where Art Thou?" are three women.', "Who are they?",
                     "Nobody knows… or cares."]


def test_tiktoken_counts_offline():
    assert tiktoken_count("hello world") == 2


def test_chinese_sentences_end_at_full_width_marks_without_spaces():
    text = "研发经费超过3.6万亿元。同比增长8.3%！他说：“这很重要。”下一步呢？English follows. Done."
    spans = [text[s:e] for s, e, _ in sentence_spans(text)]
    assert spans == ["研发经费超过3.6万亿元。", "同比增长8.3%！", "他说：“这很重要。”", "下一步呢？", "English follows.", "Done."]


def test_a_long_chinese_sentence_is_cut_between_characters_within_the_window():
    text = "人工智能产业规模持续扩大" * 40 + "。"  # one sentence, no spaces anywhere
    chunks = chunks_of(text, size=60, overlap=0, window=80, count=len)
    assert len(chunks) > 1 and all(len(c.text) <= 80 for c in chunks)
    assert all(text[c.start : c.end] == c.text for c in chunks)
    assert "".join(c.text for c in chunks) == text  # nothing lost, nothing repeated
