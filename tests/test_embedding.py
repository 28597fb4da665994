import numpy as np
import pytest

from rag.errors import ModelNotInstalledError
from rag.models import embedder_path


def test_unknown_embedder_is_named():
    with pytest.raises(ModelNotInstalledError, match=r"unknown embedder 'nope'; known: all-MiniLM-L6-v2"):
        embedder_path("nope")


@pytest.mark.slow
def test_minilm_counts_its_own_tokens_and_ranks_paraphrases():
    from rag.embedding import load_embedder

    e = load_embedder("all-MiniLM-L6-v2")
    assert e.count_tokens("hello world") == 4  # [CLS] hello world [SEP]
    v = e.encode(["The cat sat on the mat.", "A cat was sitting on a rug.", "Stock markets fell sharply."])
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.3


@pytest.mark.slow
def test_multilingual_e5_finds_the_english_passage_for_a_chinese_question():
    from rag.embedding import load_embedder

    e = load_embedder("multilingual-e5-small")
    passages = ["China's R&D spending exceeded 3.6 trillion yuan in 2024.",
                "The museum opens at nine on Mondays.",
                "员工每年享有十五天带薪年假。"]
    p = e.encode(passages)
    assert p.shape == (3, e.dim) and np.allclose(np.linalg.norm(p, axis=1), 1.0, atol=1e-4)
    q = e.encode_queries(["2024年中国的研发支出是多少？", "How many days of paid leave do staff get?"])
    assert int(np.argmax(p @ q[0])) == 0 and int(np.argmax(p @ q[1])) == 2  # across languages, both ways
    assert not np.allclose(q[0], e.encode(["2024年中国的研发支出是多少？"])[0])  # "query: " vs "passage: "
    assert e.count_tokens("hello world") < e.count_tokens("hello world, and more words here") <= e.window
