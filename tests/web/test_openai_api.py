"""The OpenAI-compatible route, driven by the official `openai` client against a real server with fakes."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.web.test_api import WHALE, running

QUESTION = "How much can a blue whale weigh?"
INVENTED = "Blue whales sing in French [1]."


@pytest.fixture
def serve(make_assistant, config):
    """Start a server whose model says the given replies; yields (client, assistant, base URL)."""
    from contextlib import contextmanager

    from rag.web.ui import create_app

    @contextmanager
    def start(*replies: str, auth=None, api_key="unused"):
        assistant = make_assistant(*replies)
        with running(create_app(assistant, config, auth=auth)) as url:
            yield openai.OpenAI(base_url=f"{url}/v1", api_key=api_key, max_retries=0, timeout=30), assistant, url

    return start


def test_completion_is_the_checked_answer_with_its_citations(serve):
    with serve(f"{WHALE} {INVENTED}") as (client, _, _):
        reply = client.chat.completions.create(model="rag", messages=[{"role": "user", "content": QUESTION}])
    assert reply.object == "chat.completion" and reply.choices[0].message.role == "assistant"
    assert reply.choices[0].message.content == WHALE  # the unsupported sentence is dropped
    extra = reply.model_extra["rag"]
    assert extra["refused"] is False
    (citation,) = extra["citations"]
    assert citation["n"] == 1 and citation["doc_id"] == "whales.txt"
    assert citation["quote"] == "An adult can weigh up to 150 tonnes."


def test_streaming_sends_only_the_checked_answer_and_the_citations_last(serve):
    with serve(f"{WHALE} {INVENTED}") as (client, _, _):
        chunks = list(client.chat.completions.create(
            model="rag", messages=[{"role": "user", "content": QUESTION}], stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == WHALE and "French" not in text  # the draft, invented sentence included, is never sent
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert [c["quote"] for c in chunks[-1].model_extra["rag"]["citations"]] == ["An adult can weigh up to 150 tonnes."]
    assert all("rag" not in (c.model_extra or {}) for c in chunks[:-1])


def test_a_refusal_says_so_without_citations(serve):
    with serve("NOT_FOUND") as (client, _, _):
        reply = client.chat.completions.create(model="rag", messages=[{"role": "user", "content": QUESTION}])
    assert reply.model_extra["rag"] == {"refused": True, "citations": []}
    assert reply.choices[0].message.content == "The documents do not contain an answer to this question."


def test_earlier_turns_are_the_history_and_system_messages_are_ignored(serve):
    messages = [
        {"role": "system", "content": "Answer like a pirate and never cite anything."},
        {"role": "user", "content": "What are the largest animals ever known?"},
        {"role": "assistant", "content": "Blue whales [1]."},
        {"role": "user", "content": [{"type": "text", "text": "and how heavy are they?"}]},
    ]
    with serve("An adult can weigh up to 150 tonnes [1].") as (client, assistant, _):
        reply = client.chat.completions.create(model="rag", messages=messages)
    assert reply.model_extra["rag"]["refused"] is False
    prompt = assistant.generator.prompts[0][1]["content"]
    assert "What are the largest animals ever known?" in prompt and "and how heavy are they?" in prompt
    assert "pirate" not in str(assistant.generator.prompts)


@pytest.mark.parametrize("messages, message", [
    ([], "'messages' must be a non-empty list of {role, content} objects"),
    ([{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}], "the last message must be the user's question"),
    ([{"role": "user", "content": "   "}], "the question is empty: type a question about the documents"),
    ([{"role": "robot", "content": "x"}], "messages[0] needs a role of system, user or assistant"),
])
def test_bad_requests_are_400_in_openai_form(serve, messages, message):
    with serve() as (client, _, _):
        with pytest.raises(openai.BadRequestError) as error:
            client.chat.completions.create(model="rag", messages=messages)
        with pytest.raises(openai.BadRequestError):
            client.chat.completions.create(model="rag", messages=messages, stream=True)
    assert error.value.body == {"message": message, "type": "invalid_request_error"}


def test_models_lists_the_assistant(serve):
    with serve() as (client, _, _):
        assert [m.id for m in client.models.list()] == ["rag"]


def test_login_as_api_key_or_basic_auth(serve):
    auth = [("staff", "s3cret")]
    with serve(WHALE, WHALE, auth=auth, api_key="staff:s3cret") as (client, _, url):
        reply = client.chat.completions.create(model="rag", messages=[{"role": "user", "content": QUESTION}])
        wrong = client.with_options(api_key="staff:nope")
        with pytest.raises(openai.AuthenticationError):
            wrong.chat.completions.create(model="rag", messages=[{"role": "user", "content": QUESTION}])
        with pytest.raises(openai.AuthenticationError):
            wrong.models.list()
        basic = httpx.post(f"{url}/v1/chat/completions", auth=("staff", "s3cret"), timeout=30,
                           json={"model": "rag", "messages": [{"role": "user", "content": QUESTION}]})
        anonymous = httpx.get(f"{url}/v1/models", timeout=30)
    assert reply.choices[0].message.content == WHALE
    assert basic.status_code == 200 and basic.json()["choices"][0]["message"]["content"] == WHALE
    assert anonymous.status_code == 401 and anonymous.json()["error"]["type"] == "authentication_error"
