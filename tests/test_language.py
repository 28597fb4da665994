import pytest

from rag.language import detect, rewrite


@pytest.mark.parametrize("text, code", [
    ("How much did China spend on R&D in 2024?", "en"),
    ("r&d spend growth yoy?", "en"),
    ("2025年中国核心人工智能产业的规模有多大？", "zh"),
    ("中国は2024年に研究開発費をいくら使いましたか？", "ja"),
    ("Combien la Chine a-t-elle dépensé en recherche en 2024 ?", "fr"),
    ("Wie viel hat China 2024 für Forschung ausgegeben?", "de"),
    ("¿Cuánto gastó China en investigación en 2024?", "es"),
    ("2024 3.6 %", "en"),  # no letters: nothing to tell
])
def test_detects_the_language_of_a_short_question(text, code):
    assert detect(text) == code


def test_rewrite_keeps_the_first_line_of_the_reply_and_names_the_language():
    seen = []

    def generate(messages):
        seen.append(messages)
        return "\n  How large was China's core AI industry in 2025?\n(translated)"

    assert rewrite("2025年中国核心人工智能产业的规模有多大？", "en", generate) == "How large was China's core AI industry in 2025?"
    assert "into English" in seen[0][0]["content"]
    # framed as text to translate, so that the model does not answer it instead
    assert seen[0][1]["content"].endswith("\n2025年中国核心人工智能产业的规模有多大？") and "not to answer" in seen[0][1]["content"]
