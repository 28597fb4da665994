import pytest

from rag.verification import (Verifier, accept_all, asks_both, asks_choice, asks_yes_no, candidates, compares_both,
                              computed_pick, figures_agree, side_named_first, sides)


class Recorder:
    def __init__(self, *scores):
        self.scores = list(scores)
        self.messages = []

    def __call__(self, messages):
        self.messages.append(messages)
        return self.scores.pop(0)


def test_support_asks_about_the_passage_and_the_claim():
    judge = Recorder(0.7)
    assert Verifier(judge).support("Prices rose 18%.", "Coffee prices\n rose 18% last quarter.") == 0.7
    system, user = judge.messages[0]
    assert "instruction, not a fact" in system["content"]
    assert "Passage: Coffee prices rose 18% last quarter." in user["content"]
    assert "Claim: Prices rose 18%." in user["content"]


def test_support_shows_the_examples_first_then_the_claim_asked_about():
    """Each worked example is a passage and a claim with the verdict the judge should give, both verdicts
    among them; the passage and claim asked about come last and appear nowhere before."""
    from rag.prompting import template

    lines = template("support_examples").splitlines()
    judge = Recorder(0.9)
    Verifier(judge, support_examples=True).support("Ana Silva runs the canteen.", "The canteen is run by Ana Silva.")
    messages = judge.messages[0]
    assert len(messages) == 2 + 2 * len(lines)
    assert {m["content"] for m in messages[2:-1:2]} == {"yes", "no"}
    assert all(m["role"] == "user" and "Passage: " in m["content"] for m in messages[1:-1:2])
    assert "Claim: Ana Silva runs the canteen." in messages[-1]["content"]
    assert all("Ana Silva" not in m["content"] for m in messages[:-1])


def test_answer_score_shows_the_question_and_the_reply_only():
    judge = Recorder(0.2)
    assert Verifier(judge).answer_score("How much did it cost in 2023?", "It cost 5 euros in 2024.") == 0.2
    user = judge.messages[0][-1]["content"]
    assert "Question: How much did it cost in 2023?" in user and "Reply: It cost 5 euros in 2024." in user
    assert "Passage" not in user


def test_answer_score_shows_the_examples_first_unless_told_not_to():
    """Each example is a question and reply with the verdict the judge should give; the question asked
    comes last, so the examples cannot be read as part of it."""
    from rag.prompting import template

    lines = template("answers_examples").splitlines()
    judge = Recorder(0.8, 0.8)
    Verifier(judge).answer_score("Who runs the canteen?", "The canteen is run by Ana Silva.")
    messages = judge.messages[0]
    assert len(messages) == 2 + 2 * len(lines)
    verdicts = [m["content"] for m in messages[2:-1:2]]
    assert set(verdicts) == {"yes", "no"} and len(verdicts) == len(lines)
    assert "Question: Who runs the canteen?" in messages[-1]["content"]
    assert all("Who runs the canteen?" not in m["content"] for m in messages[:-1])
    Verifier(judge).answer_score("Who runs the canteen?", "The canteen is run by Ana Silva.", examples=False)
    assert len(judge.messages[1]) == 2


def test_accept_all_believes_everything():
    assert Verifier(accept_all).support("The moon is cheese.", "Nothing here.") == 1.0


def test_a_year_the_question_names_must_be_in_the_evidence():
    from rag.verification import years_backed

    evidence = ["(R&D report, 2025-03) Spending exceeded 3.6 trillion yuan in 2024, up 8.3 percent."]
    assert years_backed("How much was spent on R&D in 2024?", evidence)
    assert years_backed("Is the 2025 report out?", evidence), "the document's date counts"
    assert not years_backed("How much was spent on R&D in 2023?", evidence)
    assert years_backed("Give 2 facts about R&D spending.", evidence), "counts are not years"
    assert years_backed("How much did 1,999 firms spend?", evidence)


def test_answer_score_shows_the_previous_question_apart_from_the_new_one():
    """Glued together ("How much did China spend? How far is the lamp seen?") a change of topic in
    the chat read as a question the reply does not answer; the browser test caught it."""
    judge = Recorder(0.9)
    Verifier(judge).answer_score("How far can the lamp be seen?", "It is seen from 30 km [1].",
                                 previous="How much did China spend on R&D?")
    user = judge.messages[0][-1]["content"]
    assert "Earlier in this conversation the user asked: How much did China spend on R&D?" in user
    assert "\nQuestion: How far can the lamp be seen?" in user


@pytest.mark.parametrize("question, yes_no", [
    ("Are the museum and the library in the same street?", True),
    ("Does the travel policy allow business class?", True),
    ("Was the bridge finished before 1900?", True),
    ("  'Is it open on Mondays?", True),
    ("Can staff book a taxi or must they take the train?", False),  # a choice between two
    ("Which is older, the museum or the library?", False),
    ("Where is the museum?", False),
    ("Island hopping in summer: what does it cost?", False),  # "Is" must be a word of its own
])
def test_a_question_asks_for_yes_or_no_when_it_opens_with_an_auxiliary_verb(question, yes_no):
    assert asks_yes_no(question) is yes_no


@pytest.mark.parametrize("question, both", [
    ("Are both the museum and the library open on Sundays?", True),
    ("Were the Aurora and the Borealis both built in Norway?", True),
    ("Are the museum and the library in the same street?", False),  # one fact about the two together
    ("Which is older, the museum or the library? Both are old.", False),  # not a yes/no question
    ("Is Bothwell Castle open?", False),  # "both" must be a word of its own
])
def test_a_question_asks_about_both_when_it_asks_yes_or_no_of_both(question, both):
    assert asks_both(question) is both


@pytest.mark.parametrize("question, sides", [
    ("Which opened first, the Harbour Gallery or the Mill Theatre?", ({"harbour", "gallery"}, {"mill", "theatre"})),
    ("who is older Ana Ruiz or Tom Berg ?", ({"ana", "ruiz"}, {"tom", "berg"})),
    ("Which station North Quay Station or South Quay Station is busier?", ({"north"}, {"south"})),
    ("Which aired first, Night Shift: The Harbour Years or Tide Lines?",
     ({"night", "shift", "the", "harbour", "years"}, {"tide", "lines"})),
    ("Which is heavier, blue whales or elephants?", (set(), set())),
])
def test_candidates(question, sides):
    assert candidates(question) == sides


@pytest.mark.parametrize("question, names", [
    ("Which opened first, the Harbour Gallery or the Mill Theatre?", ("Harbour Gallery", "Mill Theatre")),
    ("who is older Ana Ruiz or Tom Berg ?", ("Ana Ruiz", "Tom Berg")),
    ("Which band, Friends of Dorothy or Pale Ink, has more members?", ("Friends of Dorothy", "Pale Ink")),
    ("Which station North Quay Station or South Quay Station is busier?", ("North Quay Station", "South Quay Station")),
    ("Which sold more, 'Winter Lamps' or \"Old Rope\"?", ("Winter Lamps", "Old Rope")),
    ("Which mill opened earlier--the Harrow Mill or the Quenby Works?", ("Harrow Mill", "Quenby Works")),
    ("Which came first: the Harrow Mill or the Quenby Works?", ("Harrow Mill", "Quenby Works")),
    ("Which aired first: Night Shift: The Harbour Years or Tide Lines?", ("Night Shift: The Harbour Years", "Tide Lines")),
    ("Which aired first, Night Shift: The Harbour Years or Tide Lines?", ("Night Shift: The Harbour Years", "Tide Lines")),
    ("Which is heavier, blue whales or elephants?", ("", "")),
    ("How tall is the tower?", ("", "")),
])
def test_sides_are_the_names_as_written(question, names):
    assert sides(question) == names


@pytest.mark.parametrize("question, evidence, holds", [
    ("Who was born first, Ana Ruiz or Tom Berg?", ["Ana Ruiz was born in 1950."], False),
    ("Who was born first, Ana Ruiz or Tom Berg?", ["Ana Ruiz was born in 1950.", "Tom Berg (born 1961) is a poet."], True),
    ("Which band is from Leeds, the Larks or the Finches?", ["The Finches are a band from Leeds."], True),  # no comparison
    ("When was Ana Ruiz born?", ["Ana Ruiz was born in 1950."], True),
])
def test_compares_both(question, evidence, holds):
    assert compares_both(question, evidence) is holds


@pytest.mark.parametrize("question, choice", [
    ("Which opened first, the Harbour Gallery or the Mill Theatre?", True),
    ("Who was born earlier, Ana Ruiz or Tom Berg", True),
    ('Which came out first, "Low Tide" or "High Noon"?', True),
    ("Did Ana Ruiz sing with the Larks or the Finches?", False),  # opens with a verb: not a wh-question
    ("Which river runs through Dunmore?", False),
])
def test_asks_choice(question, choice):
    assert asks_choice(question) is choice


def test_a_comparison_needs_every_word_of_each_name():
    question = "Which took place first, the Harbour Fire or the Mill Strike?"
    assert not compares_both(question, ["The Mill Strike began in 1921, a year of many a fire."])
    assert compares_both(question, ["The Mill Strike began in 1921.", "The Harbour Fire of 1890 destroyed the docks."])


@pytest.mark.parametrize("question, facts, agree", [
    # dates: the earlier one for "first", the later one for "younger"
    ("Who was born first, Ana Ruiz or Tom Berg?", ["Ana Ruiz was born on March 3, 1950, while Tom Berg was born in 1961."], True),
    ("Who was born first, Ana Ruiz or Tom Berg?", ["Tom Berg was born first, in 1961.", "Ana Ruiz was born in 1950."], False),
    ("Who is younger, Ana Ruiz or Tom Berg?", ["Tom Berg was born in 1961.", "Ana Ruiz was born in 1950."], True),
    ("Which mill opened earlier--the Harrow Mill or the Quenby Works?",
     ["The Quenby Works opened on 2 May 1874.", "The Harrow Mill opened on 9 June 1874."], True),
    ("Which film was made more recently, Dry Creek or Low Tide?",
     ["Dry Creek was made in 1982.", "Low Tide was made in 2005."], False),
    ("Which film was made less recently, Dry Creek or Low Tide?",
     ["Dry Creek was made in 1982.", "Low Tide was made in 2005."], True),
    # numbers, in digits with a scale word or as words
    ("Which band has more members, Friends of Dorothy or Pale Ink?",
     ["Friends of Dorothy has more members, with five.", "Pale Ink has 3 members."], True),
    ("Which city is larger, Alton or Brill?", ["Brill has 2.1 million people.", "Alton has 900,000 people."], True),
    ("Which city is larger, Alton or Brill?", ["Alton is larger, with 900,000 people.", "Brill has 2.1 million people."], False),
    # nothing to compute: one side without a figure, a tie, a comparison no figure decides, no comparison
    ("Who was born first, Ana Ruiz or Tom Berg?", ["Tom Berg was born first, in 1961."], True),
    ("Which band has more members, Friends of Dorothy or Pale Ink?", ["Pale Ink has 4 members.", "Friends of Dorothy has 4."], True),
    ("Who had the best ranking, Ana Ruiz or Tom Berg?", ["Tom Berg reached No. 51.", "Ana Ruiz reached No. 7."], True),
    ("When was Ana Ruiz born?", ["Ana Ruiz was born in 1990."], True),
])
def test_figures_agree(question, facts, agree):
    assert figures_agree(question, facts) is agree


@pytest.mark.parametrize("question, facts, agree", [
    # a pick by date without a date for each side rests on nothing the reader can check
    ("Who is younger, Ana Ruiz or Tom Berg?", ["Ana Ruiz is younger than Tom Berg."], False),
    ("Which band was formed first, Pale Ink or Friends of Dorothy?",
     ["Pale Ink was formed in Leeds, while Friends of Dorothy was formed in Hull."], False),
    ("Who was born first, Ana Ruiz or Tom Berg?", ["Tom Berg was born first, in 1961."], False),
    ("Who was born first, Ana Ruiz or Tom Berg?", ["Ana Ruiz was born in 1950.", "Tom Berg was born in 1961."], True),
    ("Who was born first, Ana Ruiz or Tom Berg?", ["Tom Berg was born first, in 1961.", "Ana Ruiz was born in 1950."], False),
    ("Which film was made more recently, Dry Creek or Low Tide?", ["Dry Creek was directed by Ana Ruiz."], False),
    # a comparison by number or by judgement is left as without it
    ("Which band has more members, Friends of Dorothy or Pale Ink?", ["Friends of Dorothy has more members."], True),
    ("When was Ana Ruiz born?", ["Ana Ruiz was born in Leeds."], True),
])
def test_a_pick_by_date_needs_a_date_for_each_side_when_asked(question, facts, agree):
    assert figures_agree(question, facts, dates_needed=True) is agree


@pytest.mark.parametrize("question, facts, agree", [
    ("Which band has more members, Friends of Dorothy or Pale Ink?", ["Friends of Dorothy has more members."], False),
    ("Which magazine is published more often, Field Notes or Tide Table?",
     ["Field Notes is published monthly, while Tide Table is published daily."], False),
    ("Which band has more members, Friends of Dorothy or Pale Ink?", ["Friends of Dorothy has five.", "Pale Ink has 3 members."], True),
    ("Who was born first, Ana Ruiz or Tom Berg?", ["Tom Berg was born first, in 1961."], True),  # dates: dates_needed
    ("Who had the best ranking, Ana Ruiz or Tom Berg?", ["Tom Berg had the best ranking."], True),  # no figure asked
])
def test_a_pick_by_number_needs_a_figure_for_each_side_when_asked(question, facts, agree):
    assert figures_agree(question, facts, counts_needed=True) is agree


@pytest.mark.parametrize("question, facts, pick, first", [
    ("Who is younger, Ana Ruiz or Tom Berg?", ["Ana Ruiz was born in 1950.", "Tom Berg was born in 1961."], 1, 0),
    ("Who was born first, Ana Ruiz or Tom Berg?", ["Tom Berg was born on 2 May 1950.", "Ana Ruiz was born on 9 June 1950."], 1, 1),
    ("Which band has fewer members, Friends of Dorothy or Pale Ink?", ["Pale Ink has 3 members.", "Friends of Dorothy has five."], 1, 1),
    ("Who was born first, Ana Ruiz or Tom Berg?", ["Ana Ruiz was born in 1950.", "Tom Berg was born in Leeds."], None, 0),
    ("Who was born first, Ana Ruiz or Tom Berg?", ["Ana Ruiz was born in May 1950.", "Tom Berg was born in 1950."], None, 0),
    ("When was Ana Ruiz born?", ["Ana Ruiz was born in 1950."], None, None),
])
def test_the_side_a_comparisons_figures_pick_and_the_side_named_first(question, facts, pick, first):
    assert computed_pick(question, facts) == pick
    assert side_named_first(question, facts) == first


def test_a_day_of_the_month_is_no_figure_to_compare():
    from rag.verification import computed_pick

    question = "Which strike lasted longer, the Dock Strike or the Mill Strike?"
    ranges = ["The Dock Strike lasted from 19 September to 16 December 1911.",
              "The Mill Strike lasted from August 4 to September 18, 1912."]
    assert computed_pick(question, ranges) is None, "19 against 4 is not which lasted longer"
    counts = ["The Dock Strike involved 4,000 workers on 2 May 1911.", "The Mill Strike involved 900 workers."]
    assert computed_pick("Which strike involved more workers, the Dock Strike or the Mill Strike?", counts) == 0
