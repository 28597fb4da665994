"""The JSON API served beside the browser UI: ask, list, upload and remove documents.

    POST   /api/ask                {"question": "...", "history": [["q", "a"], ...]} -> Answer.to_json()
    GET    /api/documents          -> [{"doc_id", "title", "source", "date", "characters", "uploaded"}, ...]
    POST   /api/documents          multipart "file" [, "groups": "a,b"] -> {"doc_id", "report": IndexReport}
    GET    /api/documents/{doc_id} -> {"doc_id", "title", "source", "date", "text", "uploaded"}: the whole
                                      text, which citations' offsets point into
    DELETE /api/documents/{doc_id} -> {"removed": doc_id}
    GET    /api/conversations      -> [{"id", "title", "updated"}, ...], the user's, newest first
    GET    /api/conversations/{id} -> {"id", "turns": [{"question", "answer": Answer.to_json(), "changed"}]}
    DELETE /api/conversations/{id} -> {"deleted": id}

Errors answer {"error": "<one sentence>"} with 400 (bad request, RagError), 401 (login needed),
403 (sharing with a group the uploader is not in), 404, 409 (name taken by another folder's
document), 413 (too large), 415 (file type) or 422 (unreadable file). With logins, every route
needs HTTP Basic auth, and acts for that user: only the documents their groups may read are
searched, listed, removed, or replaced by an upload, and an upload is readable by their groups, or
by the ones of them named in "groups" (by everyone, for a user without groups).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from rag.errors import RagError
from rag.indexing import check_groups
from rag.web.conversations import Conversations
from rag.web.library import MAX_UPLOAD_BYTES, Library, UploadError, check_upload
from rag.web.users import ANONYMOUS, User, Users

MULTIPART_OVERHEAD = 64 * 1024  # bytes of a multipart body that are not the file


def add_routes(app: FastAPI, library: Library, users: Users | None = None,
               conversations: Conversations | None = None) -> None:
    """Add the /api routes to `app` (before Gradio is mounted at "/", which would shadow them). Each
    route acts for the asker `login(users)` names: only documents their groups may read exist for it."""
    router = APIRouter(prefix="/api")
    asker = login(users)

    def reader(user: User = Depends(asker)) -> Library:
        return library.as_reader(user.groups)

    @router.post("/ask")
    async def ask(request: Request, library: Library = Depends(reader)):
        body = await _json_body(request)
        question, history = body.get("question"), body.get("history", [])
        if not isinstance(question, str):
            raise HTTPException(400, "the body needs a string field 'question'")
        if not (isinstance(history, list) and all(
                isinstance(t, (list, tuple)) and len(t) == 2 and all(isinstance(x, str) for x in t) for t in history)):
            raise HTTPException(400, "'history' must be a list of [question, answer] pairs of strings")
        try:
            answer = await run_in_threadpool(library.ask, question, [tuple(t) for t in history])
        except RagError as exc:
            raise HTTPException(400, str(exc)) from None
        return answer.to_json()

    @router.get("/documents")
    async def documents(library: Library = Depends(reader)):
        docs = await run_in_threadpool(library.documents)
        return [{"doc_id": d.doc_id, "title": d.title, "source": d.source, "date": d.date,
                 "characters": len(d.text), "uploaded": library.is_upload(d)} for d in docs]

    @router.post("/documents")
    async def upload(request: Request, library: Library = Depends(reader)):
        declared = int(request.headers.get("content-length") or 0)
        if declared > MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD:
            raise HTTPException(413, f"the upload is {declared / 2**20:.1f} MB; the limit is "
                                     f"{MAX_UPLOAD_BYTES // 2**20} MB")
        try:
            form = await request.form(max_files=1, max_fields=4)
        except Exception as exc:  # starlette raises several types for malformed multipart bodies
            raise HTTPException(400, f"expected a multipart form with a 'file' field ({exc})") from None
        file = form.get("file")
        if file is None or isinstance(file, str):
            raise HTTPException(400, "expected a multipart form with a 'file' field")
        groups = form.get("groups")
        try:
            readers = check_groups(groups.split(",")) if isinstance(groups, str) and groups.strip() else None
            check_upload(file.filename or "", file.size or 1)  # type and size before reading anything
            data = await file.read(MAX_UPLOAD_BYTES + 1)
            doc_id, report = await run_in_threadpool(library.add, file.filename or "", data, None, readers)
        except UploadError as exc:
            raise HTTPException(exc.status, str(exc)) from None
        except RagError as exc:
            raise HTTPException(400, str(exc)) from None
        finally:
            await form.close()
        return {"doc_id": doc_id, "report": dataclasses.asdict(report)}

    if conversations is not None:
        @router.get("/conversations")
        async def conversation_list(user: User = Depends(asker)):
            return conversations.list(user.name)

        @router.get("/conversations/{conversation_id}")
        async def conversation(conversation_id: str, user: User = Depends(asker), library: Library = Depends(reader)):
            saved = conversations.load(user.name, conversation_id)
            if saved is None:
                raise HTTPException(404, f"no conversation {conversation_id!r}")
            return {"id": conversation_id, "turns": [
                {"question": s.question, "answer": s.answer.to_json(), "changed": sorted(library.changed(s.versions))}
                for s in saved]}

        @router.delete("/conversations/{conversation_id}")
        async def forget(conversation_id: str, user: User = Depends(asker)):
            if not conversations.delete(user.name, conversation_id):
                raise HTTPException(404, f"no conversation {conversation_id!r}")
            return {"deleted": conversation_id}

    @router.get("/documents/{doc_id:path}")
    async def view(doc_id: str, library: Library = Depends(reader)):
        doc = await run_in_threadpool(library.document, doc_id)
        if doc is None:
            raise HTTPException(404, f"no document {doc_id!r} in the index")
        return {"doc_id": doc.doc_id, "title": doc.title, "source": doc.source, "date": doc.date, "text": doc.text,
                "uploaded": library.is_upload(doc)}

    @router.delete("/documents/{doc_id:path}")
    async def remove(doc_id: str, library: Library = Depends(reader)):
        try:
            await run_in_threadpool(library.remove, doc_id)
        except UploadError as exc:
            raise HTTPException(exc.status, str(exc)) from None
        return {"removed": doc_id}

    app.include_router(router)
    app.add_exception_handler(HTTPException, _error_response)


async def _error_response(request: Request, exc: HTTPException) -> JSONResponse:
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def _json_body(request: Request) -> dict:
    try:
        return await json_object(request, 'such as {"question": "..."}')
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None


async def json_object(request: Request, hint: str) -> dict:
    """The request's body as a JSON object; ValueError with a one-line reason otherwise (`hint` says
    what the object should look like)."""
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError as exc:
        raise ValueError(f"the body is not valid JSON ({exc})") from None
    if not isinstance(body, dict):
        raise ValueError(f"the body must be a JSON object {hint}")
    return body


def login(users: Users | None):
    """A dependency giving the asker: with `users`, the one HTTP Basic auth names (401 otherwise);
    without, the anonymous asker, who reads what everyone may read."""
    def anonymous() -> User:
        return ANONYMOUS

    def check(request: Request) -> User:
        user = authenticated(users, request.headers.get("authorization", ""))
        if user is None:
            raise HTTPException(401, "log in with HTTP Basic auth (your staff name and password)",
                                headers={"WWW-Authenticate": 'Basic realm="rag"'})
        return user

    return anonymous if users is None else check


def authenticated(users: Users, authorization: str, *, bearer: bool = False) -> User | None:
    """The user an Authorization header logs in: HTTP Basic, or with `bearer` also a bearer token
    "user:password" (what OpenAI clients send as their api key); None when it names nobody."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "basic":
        return users.authenticate(*decode_basic(token))
    if bearer and scheme.lower() == "bearer":
        name, _, password = token.strip().partition(":")
        return users.authenticate(name, password)
    return None


def decode_basic(token: str) -> tuple[str, str]:
    """(user, password) from an HTTP Basic token; empty ones when it does not decode."""
    try:
        user, _, password = base64.b64decode(token, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, ValueError):
        return "", ""
    return user, password
