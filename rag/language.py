"""Which language a question or a document is written in, and a question rewritten into another.

Detection is py3langid's (a naive Bayes model over byte n-grams, shipped inside the package), kept to
the languages below so that a short question is not taken for a rare one. On the 650 English tune
questions (seed sets, ClapNQ, HotpotQA) it called 4 something else, each a question made mostly of
French or Italian names; what that costs is one needless rewrite into English (about a second).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

# The languages told apart, with the names the generator is given; the generator reads them all.
LANGUAGES = {"en": "English", "zh": "Chinese", "ja": "Japanese", "ko": "Korean", "fr": "French", "de": "German",
             "es": "Spanish", "pt": "Portuguese", "it": "Italian", "ru": "Russian"}
# Languages whose script no other here shares, so detection cannot take English for them.
OWN_SCRIPT = {"zh", "ja", "ko", "ru"}
SAMPLE_CHARS = 2000  # a document's language is read from its beginning

_lock = threading.Lock()
_ready = False


def detect(text: str) -> str:
    """The ISO 639-1 code of `text`'s language among LANGUAGES ("en" for text with no letters)."""
    global _ready
    import py3langid

    if not any(ch.isalpha() for ch in text):
        return "en"
    with _lock:  # the package keeps one global model, restricted once
        if not _ready:
            py3langid.set_languages(list(LANGUAGES))
            _ready = True
        return py3langid.classify(text[:SAMPLE_CHARS])[0]


def rewrite(question: str, language: str, generate: Callable[[list[dict[str, str]]], str]) -> str:
    """The question in `language`, written by the generator (`generate(messages) -> text`): what
    retrieval searches when the documents are in another language. Its first line only.

    The question is framed as text to translate (prompts/rewrite_user.txt): sent bare, the model
    answered some instead, from its own memory ("政府工作报告是在哪一年首次提出“人工智能+”行动的？"
    came back as "2018", and retrieval searched for that). On the 45 Chinese and English questions
    of seed_zh, seed_qa_hard and zh_docs (tune, 2026-12-04) bare: 1 answered; framed: all 45 came
    back as questions; "you never answer them" in the system prompt instead: 6 answered."""
    from rag.prompting import render

    reply = _ask("rewrite_system", render("rewrite_user", question=question), language, generate)
    lines = [line.strip() for line in reply.splitlines() if line.strip()]
    return lines[0] if lines else ""


def translate(text: str, language: str, generate: Callable[[list[dict[str, str]]], str],
              prompt: str = "translate_system") -> str:
    """`text` (a sentence of an answer) in `language`, written by the generator; "" if it wrote nothing.
    `prompt` "translate_answer_system" also asks it to keep names in Latin letters (for the reader)."""
    return " ".join(_ask(prompt, text, language, generate).split())


def _ask(prompt: str, text: str, language: str, generate: Callable[[list[dict[str, str]]], str]) -> str:
    """The generator's reply to `text` under the system prompt `prompt`, told the target language."""
    from rag.prompting import render

    return generate([
        {"role": "system", "content": render(prompt, language=LANGUAGES.get(language, language))},
        {"role": "user", "content": text},
    ])
