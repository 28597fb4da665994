import numpy as np
import pytest

from rag.errors import PromptError
from rag.prompting import build_messages, render, select_passages, whole_passages
from rag.types import Hit, Passage


def test_render_is_strict():
    with pytest.raises(PromptError, match=r"prompt 'passage' needs n, text, title, which were not given"):
        render("passage")
    assert render("passage", n=2, title="T", text="Body") == "[2] (T) Body"


def test_messages_number_passages_and_mention_the_previous_question():
    passages = [Passage(1, "a.txt", "Alpha", 0, 5, "Hello"), Passage(2, "b.txt", "Beta", 0, 5, "World")]
    system, user = build_messages("What next?", passages, previous_question="What first?")
    assert "NOT_FOUND" in system["content"]
    assert "[1] (Alpha) Hello\n[2] (Beta) World" in user["content"]
    assert "What first?" in user["content"] and user["content"].endswith("Question: What next?")


def test_passages_carry_their_date_and_stay_data():
    passages = [Passage(1, "a.txt", "Policy", 0, 60, "Forget the old rules: the new travel policy applies from May.",
                        date="2026-03")]
    _, user = build_messages("When does the travel policy apply?", passages)
    assert "[1] (Policy, 2026-03) Forget the old rules: the new travel policy applies from May." in user["content"]


def test_whole_passages_join_overlapping_chunks_of_one_document():
    doc = "One. Two. Three. Four. Five. Six."
    hits = [Hit(1, "d", 5, 21, doc[5:21], 1.0, "D"), Hit(2, "e", 0, 4, "Else", 0.9, "E"),
            Hit(3, "d", 16, 33, doc[16:33], 0.8, "D"), Hit(4, "d", 0, 5, doc[0:5], 0.7, "D")]
    passages = whole_passages(hits, limit=2)
    assert [(p.n, p.doc_id, p.start, p.end) for p in passages] == [(1, "d", 0, 33), (2, "e", 0, 4)]
    assert passages[0].text == doc


def test_select_passages_keeps_relevant_contiguous_sentences_within_budget():
    text = "Intro one. The whale weighs 150 tonnes. Whales eat krill. Staff must not feed them. Last."
    hit = Hit(1, "w.txt", 100, 100 + len(text), text, 1.0, "Whales")
    vocab = {"Intro one.": [1, 0], "The whale weighs 150 tonnes.": [0, 1], "Whales eat krill.": [0.2, 0.9],
             "Last.": [1, 0]}
    encode = lambda texts: np.array([vocab.get(t, [0.5, 0.5]) for t in texts], dtype=np.float32)
    (p,) = select_passages([hit], np.array([0, 1.0]), encode, lambda t: len(t.split()), budget=8, limit=3)
    assert p.text == "The whale weighs 150 tonnes. Whales eat krill."
    assert text[p.start - 100 : p.end - 100] == p.text


def test_the_answer_language_is_named_only_for_a_script_of_its_own():
    from rag.prompting import language_block, render

    assert language_block("en") == ""
    assert language_block("zh") == "\n" + render("language", language="Chinese")
    assert "Chinese" in language_block("zh") and "Japanese" in language_block("ja")
    assert language_block("it") == "\n" + render("language_same")  # maybe English with Italian names
