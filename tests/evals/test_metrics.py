from rag.evals.datasets import Evidence
from rag.evals.metrics import evidence_recall, fold, keys_present, percentile, reciprocal_rank, rouge_l, token_f1

GOLD = [Evidence("a.txt", 10, 20, "x" * 10), Evidence("b.txt", 0, 5, "y" * 5)]


def test_recall_needs_the_whole_gold_span_covered():
    spans = [("a.txt", 0, 15), ("a.txt", 5, 25), ("c.txt", 0, 100), ("b.txt", 0, 5)]
    assert evidence_recall(spans, GOLD, 1) == 0.0
    assert evidence_recall(spans, GOLD, 2) == 0.5
    assert evidence_recall(spans, GOLD, 4) == 1.0
    assert reciprocal_rank(spans, GOLD) == 0.5
    assert reciprocal_rank([("c.txt", 0, 9)], GOLD) == 0.0


def test_keys_fold_quotes_case_and_alternatives():
    assert fold("It’s  “Big”") == 'it\'s "big"'
    assert keys_present("Costs fall 90% every year [1].", ["90", "12 months|year"])
    assert not keys_present("Costs fall 90%.", ["90", "12 months|year"])


def test_f1_and_rouge():
    assert token_f1("The cat sat [1].", "the cat sat") == 1.0
    assert round(token_f1("cat sat down", "cat sat"), 3) == 0.8
    assert rouge_l("a b c d", "a c d") > rouge_l("d c b a", "a c d")
    assert rouge_l("", "x") == 0.0


def test_percentile():
    assert percentile([1, 2, 3, 4], 50) == 2.5 and percentile([], 95) == 0.0 and percentile([7], 95) == 7
