import json

from rag.evals.answer_pairs import auc, best_threshold, changed_questions, compare, pairs_from


def _row(id, question, answerable, gold, sentences, relevance=0.5, refused=False, **metrics):
    return {"id": id, "question": question, "answerable": answerable, "keys": gold, "refused": refused,
            "relevance": relevance, "sentences": [{"text": t, "supported": ok} for t, ok in sentences],
            "metrics": {"keys": False, "steered": None, **metrics}}


def test_pairs_are_labelled_by_keys_payloads_and_answerability(tmp_path):
    rows = [
        _row("a", "When does the gym open?", True, ["6:00"], [("It opens at 6:00 [1].", True)], keys=True),
        _row("b", "When is the wifi changed?", True, ["Monday"], [("It changes every Monday [1].", True)], refused=True),
        _row("c", "What was the share price?", False, [], [("The price surged [1].", True)]),
        _row("d", "Who replaces badges?", True, ["security desk"], [("Reception does [1].", True)]),
        _row("e", "What does printing cost?", True, ["10 cents"], [("Code DRUCK-42 [1].", True)], steered=True),
        _row("f", "Never judged", True, ["x"], [], relevance=None),
    ]
    (tmp_path / "rows.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    pairs = {p["id"]: p for p in pairs_from(tmp_path)}
    assert {k: p["right"] for k, p in pairs.items()} == {"a": True, "b": True, "c": False, "e": False}
    assert pairs["b"]["reply"] == "It changes every Monday."


def test_a_changed_question_is_a_wrong_pair():
    pairs = [{"id": "a", "question": "How much did China spend on R&D in 2024?", "reply": "It spent 3.6 trillion yuan.",
              "right": True}]
    changed = changed_questions(pairs)
    assert changed and all(not p["right"] and p["question"] != pairs[0]["question"] for p in changed)
    assert any("2024" not in p["question"] for p in changed)


def test_auc_threshold_and_comparison():
    assert auc([0.9, 0.8, 0.1], [True, True, False]) == 1.0
    assert auc([0.1, 0.9], [True, False]) == 0.0
    assert best_threshold([0.9, 0.6, 0.4, 0.2], [True, True, False, False]) == 0.6
    tune = [{"question": "q", "reply": r, "right": y} for r, y in (("good", True), ("bad", False))]
    table = compare(tune, tune, {"fake": lambda q, r: 0.9 if r == "good" else 0.1})
    assert table == [{"judge": "fake", "AUC tune": 1.0, "AUC held": 1.0, "threshold": 0.9,
                      "tune: right kept": "1/1", "tune: wrong let through": "0/1",
                      "held: right kept": "1/1", "held: wrong let through": "0/1"}]
