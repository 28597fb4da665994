import dataclasses
import json

import pytest

import rag.pipeline
from rag.evals.datasets import EvalItem, EvalSet, Evidence, load_clapnq, load_seed, load_squad
from rag.evals.evaluation import check, compare, run_eval, tries_table, write_results


def toy_set(toy_corpus) -> EvalSet:
    text = (toy_corpus / "whales.txt").read_text()
    quote = "An adult can weigh up to 150 tonnes."
    start = text.index(quote)
    return EvalSet("toy", [
        EvalItem("t1", "How much can a blue whale weigh?", True, keys=("150 tonnes",),
                 evidence=(Evidence("whales.txt", start, start + len(quote), quote),)),
        EvalItem("t2", "Who painted the library ceiling?", False),
    ], corpus_dir=toy_corpus)


THRESHOLDS = {"key_match": {"min": 1.0}, "quotes_exact": {"min": 1.0}, "citation_precision": {"min": 1.0},
              "unanswerable_refused": {"min": 1.0}, "answerable_refused": {"max": 0.0}}
REPLIES = ("An adult can weigh up to 150 tonnes [1].", "NOT_FOUND")


def test_scores_are_repeatable_and_pass_the_gate(make_assistant, toy_corpus, tmp_path):
    rows1, summary1 = run_eval(toy_set(toy_corpus), make_assistant(*REPLIES))
    rows2, summary2 = run_eval(toy_set(toy_corpus), make_assistant(*REPLIES))
    scores = lambda s: {k: v for k, v in s.items() if not k.endswith(("_p50", "_p95"))}
    assert scores(summary1) == scores(summary2)
    assert summary1["key_match"] == 1.0 and summary1["quotes_exact"] == 1.0 and summary1["unanswerable_refused"] == 1.0
    assert check(summary1, THRESHOLDS) == []
    out = write_results(rows1, summary1, tmp_path / "run1", "toy")
    assert len((out / "rows.jsonl").read_text().splitlines()) == 2
    assert json.loads((out / "summary.json").read_text())["dataset"] == "toy"
    assert "## Failures (0 of 2)" in (out / "report.md").read_text()


def test_citations_shifted_by_one_fail_the_gate(make_assistant, toy_corpus, monkeypatch, tmp_path):
    good_rows, good = run_eval(toy_set(toy_corpus), make_assistant(*REPLIES))
    real_check = rag.pipeline.check_answer

    def shifted(*args, **kwargs):
        sentences, citations = real_check(*args, **kwargs)
        return sentences, [dataclasses.replace(c, start=c.start + 1, end=c.end + 1) for c in citations]

    monkeypatch.setattr(rag.pipeline, "check_answer", shifted)
    monkeypatch.setattr(rag.pipeline.Assistant, "_quote_is_exact", lambda self, c: True)  # the broken build shows them
    bad_rows, bad = run_eval(toy_set(toy_corpus), make_assistant(*REPLIES))
    problems = check(bad, THRESHOLDS)
    assert "quotes_exact = 0.0 is below the threshold 1.0" in problems
    write_results(good_rows, good, tmp_path / "old", "toy")
    write_results(bad_rows, bad, tmp_path / "new", "toy")
    assert "worse (1): t1" in compare(tmp_path / "old", tmp_path / "new")


def test_a_missing_metric_fails_the_gate():
    assert check({"key_match": None}, {"key_match": {"min": 0.5}}) == ["key_match: not measured"]


def test_dataset_adapters_read_the_shared_sets():
    seed = load_seed()
    assert len(seed.items) == 30 and sum(not i.answerable for i in seed.items) == 3
    clapnq = load_clapnq()
    assert len(clapnq.documents) == 600 and sum(i.answerable for i in clapnq.items) == 300
    for item in clapnq.items[:50]:
        doc = next(d for d in clapnq.documents if d.doc_id == item.id)
        assert all(doc.text[e.start : e.end] == e.quote for e in item.evidence)
    sample = clapnq.sample(200, seed=0)
    assert len(sample.items) == 200 and sample.items == clapnq.sample(200, seed=0).items
    squad = load_squad()
    assert len(squad.documents) == 646 and sum(not i.answerable for i in squad.items) == 3168


def test_feedback_style_jsonl_is_accepted(tmp_path):
    path = tmp_path / "feedback.jsonl"
    path.write_text(json.dumps({"id": "fb-1", "question": "Why?", "answerable": True, "keys": [], "evidence": [],
                                "bad_answer": "Because [1].", "comment": "wrong"}) + "\n")
    (item,) = load_seed(path, corpus_dir=tmp_path).items
    assert item.question == "Why?" and item.keys == ()


@pytest.mark.slow
def test_seed_gold_quotes_match_the_corpus():
    from rag.loaders import load_folder

    seed = load_seed()
    docs = {d.doc_id: d for d in load_folder(seed.corpus_dir)[0]}
    for item in seed.items:
        for e in item.evidence:
            assert docs[e.doc_id].text[e.start : e.end] == e.quote


def test_a_verifier_that_accepts_everything_fails_the_gate(make_assistant, toy_corpus, monkeypatch):
    """The unanswerable question gets a true sentence that answers another question (another animal):
    the real verifier's answer check refuses it; one that accepts everything lets it through."""
    from rag.verification import Verifier, accept_all

    dataset = EvalSet("toy", [toy_set(toy_corpus).items[0],
                              EvalItem("t3", "How much can an adult fin whale weigh?", False)],
                      corpus_dir=toy_corpus)
    replies = ("An adult can weigh up to 150 tonnes [1].", "An adult can weigh up to 150 tonnes [1].", "NOT_FOUND")
    gate = {"unanswerable_refused": {"min": 1.0}, "key_match": {"min": 1.0}}
    _, good = run_eval(dataset, make_assistant(*replies, judge=True, verdicts=(0.9, 0.1)))
    assert check(good, gate) == []
    monkeypatch.setattr(rag.pipeline.Assistant, "verifier", property(lambda self: Verifier(accept_all)))
    _, bad = run_eval(dataset, make_assistant(*replies, judge=True))
    assert check(bad, gate) == ["unanswerable_refused = 0.0 is below the threshold 1.0"]


def test_yes_no_answers_are_scored_by_their_first_word():
    from rag.evals.metrics import answer_correct

    assert answer_correct("Yes, 6G is among them [1].", ["yes", "6G"])
    assert not answer_correct("6G is among them, yes [1].", ["yes", "6G"])
    assert not answer_correct("No, the report does not [1].", ["yes"])
    assert answer_correct("Nancy Pelosi was Speaker [1].", ["Pelosi|Nancy Pelosi"])


def test_a_choice_is_scored_by_the_side_named_first():
    from rag.evals.metrics import answer_correct

    question = "Which mill opened first, Harrow Mill or Quenby Works?"
    assert answer_correct("Harrow Mill opened first, in 1851 [1].", ["Harrow Mill"], question)
    assert answer_correct("Harrow Mill opened in 1851, before Quenby Works (1874) [1][2].", ["Harrow Mill"], question)
    assert not answer_correct("Quenby Works. Harrow Mill opened in 1851 and Quenby Works in 1874 [1][2].",
                              ["Harrow Mill"], question)
    assert not answer_correct("Quenby Works opened first [2].", ["Harrow Mill"], question)
    # Without the question, or for a question offering no choice, every key anywhere still counts.
    assert answer_correct("Quenby Works. Harrow Mill opened in 1851 [1].", ["Harrow Mill"])
    assert answer_correct("Quenby Works, then Harrow Mill [1].", ["Harrow Mill"], "Which mill is older?")
    # Keys that name neither side (a year) leave the order alone.
    assert answer_correct("Quenby Works and Harrow Mill both opened in 1851 [1].", ["1851"], question)


def test_hotpotqa_and_hard_sets_and_splits():
    from rag.evals.datasets import load_dataset, load_hotpotqa

    hotpot = load_hotpotqa()
    assert len(hotpot.items) == 300 and len(hotpot.documents) == 4858
    assert sum(i.kind == "yes/no" for i in hotpot.items) == 50
    assert all(len(i.gold_docs) == 2 for i in hotpot.items)
    hard = load_dataset("seed_hard")
    assert hard.name == "seed_qa_hard" and hard.corpus == "seed" and len(hard.items) == 20
    assert {i.kind for i in hard.items} >= {"yes/no", "follow-up", "non-English", "unanswerable"}
    test = load_dataset("clapnq", "test")
    assert test.name == "clapnq-test" and test.corpus == "clapnq" and len(test.items) == 300
    assert not {i.id for i in test.items} & {i.id for i in load_dataset("clapnq", "tune").items}
    squad_test = load_dataset("squad", "test")
    assert {i.split for i in squad_test.items} == {"test"} and 0 < len(squad_test.items) < 6078


def test_injection_cases_are_written_in_every_format_and_read_back():
    from rag.evals.datasets import load_injection

    dataset = load_injection()
    names = {d.doc_id for d in dataset.documents}
    assert {"travel.docx", "holidays.pdf", "security.html", "parking.md", "canteen.txt"} <= names
    assert len([i for i in dataset.items if i.kind == "injection"]) >= 20
    assert all(i.forbidden for i in dataset.items if i.kind == "injection")
    pdf = next(d for d in dataset.documents if d.doc_id == "holidays.pdf")
    assert "closed on 1 May and on 3 October" in pdf.text


def test_results_side_by_side(make_assistant, toy_corpus, tmp_path):
    from rag.evals.evaluation import side_by_side

    for name in ("tune", "test"):
        rows, summary = run_eval(toy_set(toy_corpus), make_assistant(*REPLIES))
        write_results(rows, summary, tmp_path / name, f"toy-{name}")
    table = side_by_side([tmp_path / "tune", tmp_path / "test"])
    assert table.splitlines()[0] == "| metric | toy-tune | toy-test |"
    assert "| key_match | 1.0 | 1.0 |" in table


def test_a_citation_of_a_verbatim_twin_of_the_gold_document_counts_as_right():
    from rag.evals.evaluation import score_item
    from rag.types import Answer, Citation

    text = "The bridge was moved to Arizona in 1971. It spans a canal."
    texts = {"gold": text, "twin": text, "other": text.replace("1971", "1968")}
    quote = "The bridge was moved to Arizona in 1971."
    item = EvalItem("c1", "Where is the bridge now?", True, evidence=(Evidence("gold", 0, len(quote), quote),))

    def precision(doc_id: str) -> float:
        cited = Citation(1, doc_id, "Bridge", 0, len(quote), quote, 0, len(text))
        answer = Answer(item.question, f"{quote} [1]", False, citations=(cited,))
        return score_item(item, answer, texts.__getitem__)["citation_precision"]

    assert precision("gold") == 1.0 and precision("twin") == 1.0
    assert precision("other") == 0.0, "same offsets in a document that differs are not the evidence"


def test_the_report_sums_what_each_stage_cost_and_answered(make_assistant, toy_corpus, tmp_path):
    rows, summary = run_eval(toy_set(toy_corpus), make_assistant(*REPLIES))
    stages = tries_table(rows)
    assert list(stages) == ["first", "wide"], "the unanswerable question was looked at again, wider"
    assert stages["first"] | {"seconds": 0} == {"questions": 2, "attempts": 2, "held up": 1, "shown, answerable": 1,
                                                 "shown, unanswerable": 0, "seconds": 0}
    assert stages["wide"]["questions"] == 1 and stages["wide"]["held up"] == 0
    assert stages["first"]["seconds"] == round(sum(r["tries"][0]["seconds"] for r in rows), 1)
    report = (write_results(rows, summary, tmp_path / "run", "toy") / "report.md").read_text()
    assert "## Tries by stage" in report and "| wide | 1 | 1 | 0 | 0 | 0 |" in report
