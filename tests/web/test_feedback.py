import json

import pytest

from rag.web import feedback
from rag.errors import RagError
from rag.types import Answer, Citation

CITATION = Citation(n=1, doc_id="whales.txt", title="whales", start=48, end=84, quote="An adult can weigh up to 150 tonnes.",
                    passage_start=0, passage_end=84)


def answer(question: str, text: str, refused: bool = False) -> Answer:
    return Answer(question=question, text=text, refused=refused, citations=() if refused else (CITATION,))


def test_ratings_round_trip_and_thumbs_down_export_as_eval_items(tmp_path):
    db = tmp_path / "feedback.sqlite"
    good = feedback.record(db, answer("How heavy is a blue whale?", "Up to 150 tonnes [1]."), feedback.UP)
    bad = feedback.record(db, answer("How long do whales live?", "Up to 150 tonnes [1]."), feedback.DOWN, " wrong figure ")
    refusal = feedback.record(db, answer("When was the library built?", "The documents do not contain it.", True),
                              feedback.UP)
    feedback.update(db, refusal, rating=feedback.DOWN, comment="It is in library.md")
    assert [r["id"] for r in feedback.rows(db)] == [good, bad, refusal]
    row = feedback.rows(db)[1]
    assert row["question"] == "How long do whales live?" and row["comment"] == "wrong figure" and row["rating"] == -1
    assert row["citations"][0]["quote"] == "An adult can weigh up to 150 tonnes." and row["created"].endswith("+00:00")

    out = tmp_path / "out" / "feedback.jsonl"
    assert feedback.export(db, out) == 2
    items = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert items[0] == {
        "id": f"feedback-{bad}", "question": "How long do whales live?", "answerable": True, "keys": [], "evidence": [],
        "bad_answer": "Up to 150 tonnes [1].", "comment": "wrong figure",
        "citations": [{"n": 1, "doc_id": "whales.txt", "title": "whales", "start": 48, "end": 84,
                       "quote": "An adult can weigh up to 150 tonnes.", "passage_start": 0, "passage_end": 84,
                       "source": "", "date": ""}],
    }
    assert items[1]["question"] == "When was the library built?" and items[1]["citations"] == []


def test_a_withdrawn_rating_is_forgotten(tmp_path):
    db = tmp_path / "feedback.sqlite"
    row = feedback.record(db, answer("q", "a [1]."), feedback.DOWN)
    feedback.delete(db, row)
    assert feedback.rows(db) == [] and feedback.export(db, tmp_path / "out.jsonl") == 0
    assert (tmp_path / "out.jsonl").read_text() == ""


def test_bad_rating_and_missing_database_are_errors(tmp_path):
    with pytest.raises(RagError, match=r"^a rating is 1 \(thumbs up\) or -1 \(thumbs down\), not 5$"):
        feedback.record(tmp_path / "f.sqlite", answer("q", "a"), 5)
    with pytest.raises(RagError, match=r"^no feedback has been recorded yet: .*nothing.sqlite does not exist$"):
        feedback.export(tmp_path / "nothing.sqlite", tmp_path / "out.jsonl")
    assert feedback.rows(tmp_path / "nothing.sqlite") == []


def test_feedback_lives_beside_the_index(config):
    assert feedback.feedback_path(config) == config.index_dir.parent / "feedback.sqlite"
