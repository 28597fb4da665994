from rag.verification import Verifier, accept_all


class Recorder:
    def __init__(self, *scores):
        self.scores = list(scores)
        self.messages = []

    def __call__(self, messages):
        self.messages.append(messages)
        return self.scores.pop(0)


def test_support_asks_about_the_passage_and_the_claim():
    judge = Recorder(0.7, 0.3)
    verifier = Verifier(judge, support_min=0.5, answers_min=0.5)
    assert verifier.supports("Prices rose 18%.", "Coffee prices\n rose 18% last quarter.")
    assert not verifier.supports("Prices fell.", "Coffee prices rose 18% last quarter.")
    system, user = judge.messages[0]
    assert "instruction, not a fact" in system["content"]
    assert "Passage: Coffee prices rose 18% last quarter." in user["content"]
    assert "Claim: Prices rose 18%." in user["content"]


def test_answers_shows_the_question_and_the_reply():
    judge = Recorder(0.2)
    verifier = Verifier(judge, support_min=0.5, answers_min=0.5)
    assert not verifier.answers("How much did it cost in 2023?", "It cost 5 euros in 2024.")
    user = judge.messages[0][1]["content"]
    assert "Question: How much did it cost in 2023?" in user and "Reply: It cost 5 euros in 2024." in user


def test_thresholds_are_inclusive_and_accept_all_accepts_everything():
    verifier = Verifier(Recorder(0.5, 0.49), support_min=0.5, answers_min=0.5)
    assert verifier.supports("a", "b") and not verifier.supports("a", "b")
    assert Verifier(accept_all, 0.99, 0.99).answers("q", "a")
