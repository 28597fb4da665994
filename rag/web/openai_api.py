"""An OpenAI-compatible chat route, so existing chat clients can use the assistant.

    GET  /v1/models             -> {"object": "list", "data": [{"id": "rag", ...}]}
    POST /v1/chat/completions   {"model": "rag", "messages": [...], "stream": false|true}

The last message must come from the user: it is the question. Earlier user messages, each with the
assistant message after it, are the conversation's history; system messages are ignored, since the
assistant's rules are not the client's to change. The message content is the checked answer with its
[n] markers (or the refusal), never the model's unchecked draft: when streaming, the role comes at
once and the checked answer in one piece once it is verified. The citations travel beside it in an
extra field, `rag`, of the completion (and of the last chunk when streaming):

    "rag": {"refused": false, "citations": [{"n", "doc_id", "title", "start", "end", "quote"}, ...]}

With credentials, send them as HTTP Basic or as a bearer token "user:password" (the OpenAI
clients' `api_key`). Errors answer {"error": {"message", "type"}} as OpenAI's API does.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from rag.errors import RagError
from rag.types import Answer
from rag.web.api import authenticated, json_object
from rag.web.users import ANONYMOUS, User, Users

MODEL_ID = "rag"


class OpenAIError(Exception):
    def __init__(self, status: int, message: str, kind: str = "invalid_request_error"):
        super().__init__(message)
        self.status, self.message, self.kind = status, message, kind


def add_openai_routes(app: FastAPI, library, users: Users | None = None) -> None:
    """Add /v1/models and /v1/chat/completions to `app` (before Gradio is mounted at "/"); answers
    come from the documents the logged-in user's groups may read."""
    router = APIRouter(prefix="/v1")
    asker = _login(users)

    def reader(user: User = Depends(asker)):
        return library.as_reader(user.groups)

    @router.get("/models")
    async def models(user: User = Depends(asker)):
        return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "rag"}]}

    @router.post("/chat/completions")
    async def completions(request: Request, library=Depends(reader)):
        body = await _json_body(request)
        question, history = conversation(body.get("messages"))
        model = body.get("model") if isinstance(body.get("model"), str) else MODEL_ID
        reply_id = f"chatcmpl-{secrets.token_hex(12)}"
        if body.get("stream"):
            items = library.stream(question, history)
            try:  # a bad question fails here, before the response starts, so it can still be a 400
                first = await run_in_threadpool(next, items)
            except RagError as exc:
                raise OpenAIError(400, str(exc)) from None
            return StreamingResponse(_events(first, items, reply_id, model), media_type="text/event-stream")
        try:
            answer = await run_in_threadpool(library.ask, question, history)
        except RagError as exc:
            raise OpenAIError(400, str(exc)) from None
        return {"id": reply_id, "object": "chat.completion", "created": int(time.time()), "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.text},
                             "finish_reason": "stop"}],
                "rag": extra(answer)}

    app.include_router(router)
    app.add_exception_handler(OpenAIError, _error_response)


def conversation(messages) -> tuple[str, list[tuple[str, str]]]:
    """(question, history) from OpenAI chat messages; OpenAIError(400) for a list that has none."""
    if not isinstance(messages, list) or not messages:
        raise OpenAIError(400, "'messages' must be a non-empty list of {role, content} objects")
    turns: list[tuple[str, str]] = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("system", "developer", "user", "assistant"):
            raise OpenAIError(400, f"messages[{i}] needs a role of system, user or assistant")
        turns.append((message["role"], _text(message.get("content"), i)))
    if turns[-1][0] != "user":
        raise OpenAIError(400, "the last message must be the user's question")
    history: list[tuple[str, str]] = []
    asked = None
    for role, text in turns[:-1]:
        if role == "user":
            asked = text
        elif role == "assistant" and asked is not None:
            history.append((asked, text))
            asked = None
    return turns[-1][1], history


def _text(content, i: int) -> str:
    """A message's text: a string, or the text parts of a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(p, dict) for p in content):
        return "\n".join(p["text"] for p in content if p.get("type") == "text" and isinstance(p.get("text"), str))
    if content is None:
        return ""
    raise OpenAIError(400, f"messages[{i}].content must be a string or a list of text parts")


def extra(answer: Answer) -> dict:
    """What the checked answer adds to an OpenAI reply: whether it refused, and its citations."""
    return {"refused": answer.refused,
            "citations": [{"n": c.n, "doc_id": c.doc_id, "title": c.title, "start": c.start, "end": c.end,
                           "quote": c.quote} for c in answer.citations]}


def _events(first, items: Iterator, reply_id: str, model: str) -> Iterator[str]:
    """Server-sent events: the role at once, then the checked answer and its citations, then [DONE]."""
    created = int(time.time())

    def chunk(delta: dict, finish: str | None = None, **more) -> str:
        data = {"id": reply_id, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **more}
        return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    answer = first
    for answer in items:  # drafts are not sent: a client cannot take back text it has shown
        pass
    if not isinstance(answer, Answer):
        raise RuntimeError("the assistant's stream ended without an answer")
    yield chunk({"content": answer.text})
    yield chunk({}, "stop", rag=extra(answer))
    yield "data: [DONE]\n\n"


def _login(users: Users | None):
    """A dependency giving the asker: HTTP Basic auth or a bearer token "user:password"; 401 otherwise."""
    def anonymous() -> User:
        return ANONYMOUS

    def check(request: Request) -> User:
        user = authenticated(users, request.headers.get("authorization", ""), bearer=True)
        if user is None:
            raise OpenAIError(401, "log in: send the api key \"user:password\" or HTTP Basic auth",
                              "authentication_error")
        return user

    return anonymous if users is None else check


async def _json_body(request: Request) -> dict:
    try:
        return await json_object(request, "with 'messages'")
    except ValueError as exc:
        raise OpenAIError(400, str(exc)) from None


async def _error_response(request: Request, exc: OpenAIError) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Basic realm="rag"'} if exc.status == 401 else None
    return JSONResponse({"error": {"message": exc.message, "type": exc.kind}}, status_code=exc.status, headers=headers)
