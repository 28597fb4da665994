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
