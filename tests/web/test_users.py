"""Logins with groups: the users file, and two staff members who never see each other's documents."""

from __future__ import annotations

import httpx
import openai
import pytest

from rag.errors import RagError
from rag.web.users import Users, add_user, load_users, parse_users
from tests.web.test_api import running

HR = "The hr bonus pool this year is 7 percent of salaries."
SALES = "The sales bonus pool this year is 3 percent of revenue."


def test_users_file_lines_groups_and_hashed_passwords(tmp_path):
    users = parse_users("# staff\nana:pa:ss:hr,finance\n\nbo:secret:\n", "users.txt")
    assert users.authenticate("ana", "pa:ss").groups == ("finance", "hr")  # a password may hold colons
    assert users.authenticate("bo", "secret").groups == ()
    assert users.authenticate("ana", "pa") is None and users.authenticate("zed", "secret") is None

    path = tmp_path / "users.txt"
    path.write_text("bo:secret:\n", encoding="utf-8")
    add_user(path, "ana", "first", ["hr"])
    add_user(path, "ana", "second", ["hr", "legal"])  # replaces ana, keeps bo
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "bo:secret:" and len(lines) == 2 and "second" not in lines[1]
    assert lines[1].startswith("ana:scrypt$") and lines[1].endswith(":hr,legal")
    assert path.stat().st_mode & 0o777 == 0o600
    users = load_users(path)
    assert users.authenticate("ana", "second").groups == ("hr", "legal")
    assert users.authenticate("ana", "first") is None


@pytest.mark.parametrize("text, message", [
    ("ana\n", "users.txt, line 1: expected name:password:group,group (groups may be empty)"),
    ("bo:x:\nana:pw\n", "users.txt, line 2: expected name:password:group,group (groups may be empty)"),
    ("ana:pw:hr,,x\n", "users.txt, line 1: a group name must be non-empty and without commas: ''"),
    ("# nobody\n", "users.txt holds no name:password:groups line"),
])
def test_bad_users_files_are_one_line_errors(text, message):
    with pytest.raises(RagError) as error:
        parse_users(text, "users.txt")
    assert str(error.value) == message


def test_a_bad_name_or_empty_password_is_refused(tmp_path):
    with pytest.raises(RagError, match="a user name must be non-empty"):
        add_user(tmp_path / "u.txt", "a:b", "pw", [])
    with pytest.raises(RagError, match="the password is empty"):
        add_user(tmp_path / "u.txt", "ana", "", [])
    assert not (tmp_path / "u.txt").exists()


def test_two_users_in_different_groups_never_see_each_others_documents(make_assistant, config):
    from rag.web.ui import create_app

    users = parse_users("ana:one:hr\nbo:two:sales\n", "users")
    reply = "The bonus pool this year is the one stated [1]."
    assistant = make_assistant(*[reply] * 6)
    with running(create_app(assistant, config, auth=users)) as url:
        ana, bo = ("ana", "one"), ("bo", "two")
        for who, name, text in ((ana, "hr.txt", HR), (bo, "sales.txt", SALES)):
            r = httpx.post(f"{url}/api/documents", auth=who, files={"file": (name, text.encode())}, timeout=30)
            assert r.status_code == 200, r.text
        seen = {}
        for who, other in ((ana, SALES), (bo, HR)):
            before = len(assistant.generator.prompts)
            answer = httpx.post(f"{url}/api/ask", auth=who, json={"question": "How big is the bonus pool this year?"},
                                timeout=30)
            listed = httpx.get(f"{url}/api/documents", auth=who, timeout=30)
            client = openai.OpenAI(base_url=f"{url}/v1", api_key=f"{who[0]}:{who[1]}", max_retries=0, timeout=30)
            completion = client.chat.completions.create(
                model="rag", messages=[{"role": "user", "content": "How big is the bonus pool this year?"}])
            prompts = str(assistant.generator.prompts[before:])
            assert other not in answer.text + listed.text + completion.model_dump_json() + prompts
            seen[who[0]] = (answer.json(), [d["doc_id"] for d in listed.json()], completion.model_extra["rag"])
        forbidden = httpx.delete(f"{url}/api/documents/hr.txt", auth=bo, timeout=30)
        hidden = httpx.get(f"{url}/api/documents/hr.txt", auth=bo, timeout=30)
        shown = httpx.get(f"{url}/api/documents/hr.txt", auth=ana, timeout=30)
        wrong = httpx.post(f"{url}/api/ask", auth=("ana", "two"), json={"question": "x"}, timeout=30)
    (ana_quote,) = [c["quote"] for c in seen["ana"][0]["citations"]]
    (bo_quote,) = [c["quote"] for c in seen["bo"][0]["citations"]]
    assert ana_quote == HR and bo_quote == SALES
    assert "hr.txt" in seen["ana"][1] and "sales.txt" not in seen["ana"][1] and "whales.txt" in seen["ana"][1]
    assert "sales.txt" in seen["bo"][1] and "hr.txt" not in seen["bo"][1]
    assert [c["doc_id"] for c in seen["bo"][2]["citations"]] == ["sales.txt"]
    assert forbidden.status_code == 404 and wrong.status_code == 401
    assert hidden.status_code == 404 and hidden.json() == {"error": "no document 'hr.txt' in the index"}
    assert shown.status_code == 200 and shown.json()["text"] == HR
    assert assistant.store.document("hr.txt").readers == ("hr",)


def test_from_pairs_are_users_without_groups():
    users = Users.from_pairs([("staff", "s3cret")])
    assert users.authenticate("staff", "s3cret").groups == ()


def test_an_upload_may_be_shared_with_some_of_the_uploaders_groups_only(make_assistant, config):
    from rag.web.ui import create_app

    users = parse_users("ana:one:hr,finance\nbo:two:hr\n", "users")
    with running(create_app(make_assistant(), config, auth=users)) as url:
        shared = httpx.post(f"{url}/api/documents", auth=("ana", "one"), data={"groups": "finance"},
                            files={"file": ("budget.txt", b"The finance budget is 9 million.")}, timeout=30)
        foreign = httpx.post(f"{url}/api/documents", auth=("ana", "one"), data={"groups": "sales"},
                             files={"file": ("plan.txt", b"The sales plan.")}, timeout=30)
        seen_by_bo = [d["doc_id"] for d in httpx.get(f"{url}/api/documents", auth=("bo", "two"), timeout=30).json()]
        seen_by_ana = [d["doc_id"] for d in httpx.get(f"{url}/api/documents", auth=("ana", "one"), timeout=30).json()]
    assert shared.status_code == 200 and "budget.txt" in seen_by_ana and "budget.txt" not in seen_by_bo
    assert foreign.status_code == 403
    assert foreign.json() == {"error": "the document may be shared only with your own groups (finance, hr)"}
    assert "plan.txt" not in seen_by_ana
