"""Conversations kept in SQLite: whole answers round-trip, each user sees only their own, and the API."""

from __future__ import annotations

from dataclasses import asdict, replace

import httpx

from rag.web.conversations import Conversations, answer_from_dict, conversations_path
from rag.web.users import parse_users
from tests.web.test_api import WHALE, running

QUESTION = "How much can a blue whale weigh?"


def _answer(make_assistant, reply=WHALE, question=QUESTION):
    return make_assistant(reply).ask(question)


def test_an_answer_round_trips_whole_and_survives_a_reopen(make_assistant, tmp_path):
    answer = _answer(make_assistant)
    assert answer.citations and answer.hits and answer.passages and answer.sentences
    path = tmp_path / "conversations.sqlite"
    kept = Conversations(path)
    first = kept.add("ana", None, answer, {"whales.txt": "abc"})
    assert kept.add("ana", first, answer, {}) == first
    kept.close()
    again = Conversations(path)
    (one, two) = again.load("ana", first)
    assert one.answer == answer and one.question == QUESTION and one.versions == {"whales.txt": "abc"}
    assert two.answer == answer and two.versions == {}
    assert answer.tries, "the tries are kept too"
    saved_before_tries = {k: v for k, v in asdict(answer).items() if k not in ("tries", "answered_by")}
    assert answer_from_dict(saved_before_tries) == replace(answer, tries=(), answered_by="")
    assert again.list("ana") == [{"id": first, "title": QUESTION, "updated": again.list("ana")[0]["updated"]}]


def test_users_see_only_their_own_conversations_newest_first(make_assistant, tmp_path):
    answer = _answer(make_assistant)
    kept = Conversations(tmp_path / "c.sqlite")
    older = kept.add("ana", None, answer, {})
    newer = kept.add("ana", None, answer, {})
    theirs = kept.add("bo", None, answer, {})
    assert [c["id"] for c in kept.list("ana")] == [newer, older]
    assert kept.load("bo", older) is None and kept.delete("bo", older) is False
    assert kept.add("bo", older, answer, {}) not in (older, newer)  # not bo's: a new conversation
    assert kept.delete("ana", older) is True and kept.load("ana", older) is None
    assert [c["id"] for c in kept.list("ana")] == [newer] and theirs in [c["id"] for c in kept.list("bo")]


def test_a_long_first_question_is_cut_for_the_title(make_assistant, tmp_path):
    question = "How much can a blue whale weigh " + "and how long does it live " * 5 + "?"
    answer = _answer(make_assistant, question=question)
    kept = Conversations(tmp_path / "c.sqlite")
    kept.add("", None, answer, {})
    (listed,) = kept.list("")
    assert len(listed["title"]) == 80 and listed["title"].endswith("…")


def test_conversations_api_for_the_owner_only_and_changed_documents_said(make_assistant, config, toy_corpus):
    from rag.indexing import index_path
    from rag.web.ui import create_app

    assistant = make_assistant(WHALE)
    answer = assistant.ask(QUESTION)
    kept = Conversations(conversations_path(config))
    hashes = assistant.store.document_hashes()
    mine = kept.add("ana", None, answer, {"whales.txt": hashes["whales.txt"][1]})
    kept.close()
    users = parse_users("ana:one:\nbo:two:\n", "users")
    with running(create_app(assistant, config, auth=users)) as url:
        listed = httpx.get(f"{url}/api/conversations", auth=("ana", "one"), timeout=30).json()
        opened = httpx.get(f"{url}/api/conversations/{mine}", auth=("ana", "one"), timeout=30).json()
        (toy_corpus / "whales.txt").write_text("Blue whales are large. They eat krill.", encoding="utf-8")
        index_path(toy_corpus, assistant.store, assistant.embedder, assistant.config)
        changed = httpx.get(f"{url}/api/conversations/{mine}", auth=("ana", "one"), timeout=30).json()
        other = httpx.get(f"{url}/api/conversations/{mine}", auth=("bo", "two"), timeout=30)
        not_theirs = httpx.delete(f"{url}/api/conversations/{mine}", auth=("bo", "two"), timeout=30)
        deleted = httpx.delete(f"{url}/api/conversations/{mine}", auth=("ana", "one"), timeout=30)
        after = httpx.get(f"{url}/api/conversations", auth=("ana", "one"), timeout=30).json()
    assert [c["id"] for c in listed] == [mine] and listed[0]["title"] == QUESTION
    (turn,) = opened["turns"]
    assert turn["answer"]["answer"] == WHALE and turn["answer"]["citations"][0]["quote"] == \
        "An adult can weigh up to 150 tonnes."
    assert turn["changed"] == [] and changed["turns"][0]["changed"] == ["whales.txt"]
    assert other.status_code == 404 and not_theirs.status_code == 404
    assert deleted.json() == {"deleted": mine} and after == []
