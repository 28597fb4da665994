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
    retrieval searches when the documents are in another language. Its first line only."""
    lines = [line.strip() for line in _ask("rewrite_system", question, language, generate).splitlines() if line.strip()]
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
