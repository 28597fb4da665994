import random

from rag.citations import numbers
from rag.evals.datasets import load_hotpotqa
from rag.evals.claims import (build, build_pairs, build_seed, decide, fact_with_figure, perturb, precision_recall,
                              window_around)


def test_perturbations_change_exactly_the_named_thing():
    claim = "The bridge was opened in 1932 and carries 6 lanes across the Hudson River, 2 miles long."
    out = perturb(claim, "passage text", random.Random(0), ["Thames Estuary"])
    assert set(out) == {"year", "number", "entity", "negation", "unit"}
    assert "1932" not in out["year"] and "6 lanes" not in out["number"]
    assert "Thames Estuary" in out["entity"]
    assert out["negation"].startswith("The bridge was not opened in 1932")
    assert "kilometres" in out["unit"]


def test_a_figure_moved_within_its_passage_still_stands_there():
    claim = "The bridge was opened in 1932 and carries 6 lanes."
    passage = "The bridge was opened in 1932 and carries 6 lanes. A second deck was added in 1959 for 4 more."
    moved = perturb(claim, passage, random.Random(0), [])["passage figure"]
    assert moved == "The bridge was opened in 1959 and carries 6 lanes.", "a year is swapped for a year, not a count"
    assert numbers(moved) <= numbers(passage), "the figures rule cannot refuse it: the judge must"
    assert "passage figure" not in perturb(claim, "The bridge carries 6 lanes since 1932.", random.Random(0), [])


def test_the_seed_corpus_claims_pair_a_true_claim_with_its_figure_said_of_another_subject():
    claims = build_seed()
    true = {c.id.split(":")[1] for c in claims if c.kind == "true"}
    wrong = {c.id.split(":")[1] for c in claims if c.kind == "other subject"}
    assert true == wrong and len(true) >= 10
    assert all(c.right == (c.kind == "true") for c in claims)
    assert all(numbers(c.claim) <= numbers(c.passage) for c in claims), "every figure stands in the passage"


def test_a_fact_with_a_figure_is_said_of_the_paragraphs_subject():
    born = "Ann Lee (born 3 May 1950) is a painter. She lives in Leeds."
    assert fact_with_figure("Ann Lee (painter)", born)[0] == "Ann Lee was born on 3 May 1950."
    film = "Dusk is a film by Jo Ray. It was released (in Peru) on February 9, 2012, to good reviews."
    assert fact_with_figure("Dusk (film)", film) == ("Dusk was released on February 9, 2012.", film.split(". ", 1)[1])
    assert fact_with_figure("Quiet", "Quiet is a film. It was liked.") is None


def test_the_hotpotqa_pairs_give_each_subject_the_others_fact_on_the_first_ones_paragraph():
    claims = build_pairs()
    gate = {it.id for it in load_hotpotqa().sample(30, 0).items}
    assert not {c.id.split(":")[0] for c in claims} & gate, "the gate's questions stay unseen"
    halves = [{c.id.split(":")[0] for c in claims if c.split == split} for split in ("tune", "held")]
    assert not halves[0] & halves[1] and min(map(len, halves)) >= 20
    for true, wrong in zip(claims[::2], claims[1::2]):
        assert (true.kind, wrong.kind, true.passage) == ("true", "other subject", wrong.passage)
        assert true.right and not wrong.right
        assert numbers(true.claim) <= numbers(true.passage) and numbers(true.claim) <= numbers(wrong.claim)
        assert true.claim != wrong.claim


def test_window_keeps_the_quote_and_stays_short():
    text = " ".join(f"Sentence number {i} is here." for i in range(60))
    passage = window_around(text, "Sentence number 30 is here.", words=30)
    assert "Sentence number 30 is here." in passage and len(passage.split()) <= 30


def test_claim_set_halves_come_from_different_items_and_hold_every_kind():
    tune, test = build("tune", 20), build("test", 20)
    assert not {c.id.split(":")[0] for c in tune} & {c.id.split(":")[0] for c in test}
    kinds = {c.kind for c in tune}
    assert {"true", "entity", "negation", "other passage", "other question", "unanswered"} <= kinds
    assert all(c.right == (c.kind == "true") for c in tune)
    unanswered = [c for c in tune if c.kind == "unanswered"]
    assert len(unanswered) >= 15 and all(c.stated and not c.answers for c in unanswered)
    assert all(" ".join(c.claim.split()[:4]) in " ".join(c.passage.split()) for c in unanswered)


def test_precision_and_recall_of_a_verdict():
    rows = [
        {"right": True, "kind": "true", "support": 0.9, "answer": 0.9, "figures_in_passage": True, "verbatim": False},
        {"right": False, "kind": "year", "support": 0.8, "answer": 0.9, "figures_in_passage": False, "verbatim": False},
        {"right": False, "kind": "negation", "support": 0.7, "answer": 0.9, "figures_in_passage": True, "verbatim": False},
        {"right": True, "kind": "true", "support": 0.3, "answer": 0.9, "figures_in_passage": True, "verbatim": True},
    ]
    result = precision_recall(rows, lambda r: decide(r, 0.6, 0.5))
    assert result["precision"] == 0.667 and result["recall"] == 1.0, "the near-verbatim claim needs no support score"
    assert precision_recall(rows, lambda r: decide(r, 0.6, 0.5, fast_path=False))["recall"] == 0.5
    assert result["passed: year"] == "0/1" and result["passed: negation"] == "1/1"
    assert precision_recall(rows, lambda r: decide(r, 0.6, 0.5, figures=False))["passed: year"] == "1/1"
