"""Meaning-level checks of an answer, with the generator as a judge scored by its first token.

Two questions are put to the judge, each in a fresh prompt:
- support: does the cited passage state this sentence of the answer? Scored by P(yes).
- answers: does the answer give what the question asks for (the same subject, year, place, unit)?
  A true sentence about another year answers a different question. Scored twice and averaged: by
  P(yes) to that question, and by the model's readiness to answer the question from the reply
  alone (1 - P(its reply starts NONE)).

The thresholds were chosen on tune data and measured on held-out data (`rag eval claims`,
rag/evals/claims.py, and the pipeline's tune runs); the numbers are in Config.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rag.generation import refusal_share, yes_share
from rag.prompting import history_block, render

Messages = list[dict[str, str]]
NOT_IN_REPLY = "NONE"  # what the extraction judge writes when the reply does not hold the answer


@dataclass
class Verifier:
    """Scores claims with `probabilities(messages)`, the judge's most likely first tokens (a
    generator's first_token_probabilities); the thresholds on the scores are Config.support_min
    and Config.answers_min."""

    probabilities: Callable[[Messages], dict[str, float]]

    def score(self, messages: Messages) -> float:
        """P(the reply starts "yes"), against "no"."""
        return yes_share(self.probabilities(messages))

    def support(self, claim: str, passage: str) -> float:
        """P(the passage states the claim)."""
        return self.score([
            {"role": "system", "content": render("support_system")},
            {"role": "user", "content": render("support_user", passage=" ".join(passage.split()), claim=claim)},
        ])

    def answer_score(self, question: str, answer: str, previous: str = "") -> float:
        """How sure the judge is that the answer responds to the question: the mean of P(yes) to
        "does the reply answer the question?" and of 1 - P(NONE) when asked to answer the question
        from the reply alone.

        Asked yes or no, the small model put correct one-sentence replies at 0.36-0.48 ("The guest
        wifi password changes every Monday." for "When does the guest wifi password change?") yet
        let through replies that only share the question's words; asked to extract, it picks out
        "every Monday" at once but misses fragments ("3.6 trillion yuan ($497.2 billion)"). Averaged,
        on 231 labelled (question, reply) pairs from the tune runs and held-out runs (answers, the
        same replies put to questions changed in year, number, name or unit, claims put to other
        questions), the ranking AUC rose from 0.86 to 0.91 on tune and 0.87 to 0.94 held out.

        The judge sees no passage: whether the answer is stated is the support check's job. The
        previous question, if any, is shown as context only: glued to the new one it made a change
        of topic look unanswered."""
        history = history_block(previous)
        judged = self.score([
            {"role": "system", "content": render("answers_system")},
            {"role": "user", "content": render("answers_user", history=history, question=question, answer=answer)},
        ])
        extracted = 1.0 - refusal_share(self.probabilities([
            {"role": "system", "content": render("extract_system")},
            {"role": "user", "content": render("extract_user", history=history, question=question, answer=answer)},
        ]), NOT_IN_REPLY)
        return (judged + extracted) / 2


# A year the question names must be stated by the cited passages (text, title or date). The judge
# let "spent 3.6 trillion yuan in 2024" answer "how much in 2023?" (P(yes) 0.75, seed_qa_hard); on
# the tune sets this rule refused 3 such answers and no right one. Only years: a count the question
# asks for ("2 facts about...", ClapNQ tune) is no constraint on the evidence.
YEAR = re.compile(r"(?<![\d.,])(1[0-9]{3}|20[0-9]{2}|21[0-9]{2})(?![\d.,]\d)")


def years_backed(question: str, evidence: Sequence[str]) -> bool:
    """Every year the question names appears in the evidence."""
    stated = {m.group(1) for text in evidence for m in YEAR.finditer(text)}
    return {m.group(1) for m in YEAR.finditer(question)} <= stated


def accept_all(messages: Messages) -> dict[str, float]:
    """A judge that believes everything: what the quality gate must catch (tests use it)."""
    return {"yes": 1.0}
