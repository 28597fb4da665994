import json

import pytest

from rag import cli


@pytest.fixture
def fake_cli(monkeypatch, embedder, tmp_path):
    monkeypatch.setattr("rag.embedding.load_embedder", lambda name: embedder)
    return ["--index", str(tmp_path / "index")]


def test_index_then_search_json(fake_cli, toy_corpus, capsys):
    assert cli.main([*fake_cli, "index", str(toy_corpus), "--quiet"]) == 0
    assert "6 added" in capsys.readouterr().out
    assert cli.main([*fake_cli, "search", "blue whales weigh", "-k", "2", "--json"]) == 0
    hits = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(hits) == 2 and hits[0]["doc_id"] == "whales.txt"
    assert {"doc_id", "start", "end", "text", "score"} <= set(hits[0])
    assert cli.main([*fake_cli, "index", str(toy_corpus), "--quiet"]) == 0
    assert "0 added, 0 updated, 0 removed, 6 unchanged" in capsys.readouterr().out


def test_skipped_files_give_exit_code_3_and_one_line_each(fake_cli, toy_corpus, capsys):
    (toy_corpus / "bad.txt").write_bytes(b"\x00\x01\x02binary")
    (toy_corpus / "empty.md").write_text("")
    assert cli.main([*fake_cli, "index", str(toy_corpus), "--quiet"]) == cli.EXIT_SKIPPED
    captured = capsys.readouterr()
    skipped = [line for line in captured.err.splitlines() if line.startswith("skipped")]
    assert len(skipped) == 2
    assert any(line.endswith("bad.txt: binary data, not text") for line in skipped)
    assert "6 added" in captured.out


def test_missing_path_and_missing_index(fake_cli, tmp_path, capsys):
    assert cli.main([*fake_cli, "index", str(tmp_path / "nowhere")]) == cli.EXIT_ERROR
    assert capsys.readouterr().err.strip().endswith("nowhere: no such file or folder")
    assert cli.main([*fake_cli, "search", "x"]) == cli.EXIT_ERROR
    assert "run `rag index PATH` first" in capsys.readouterr().err


def test_settings_are_overridden_by_name_with_the_fields_type():
    config = cli.with_settings(cli.Config(), ["decline_from=0.5", "escalate=off", "top_k=7"])
    assert (config.decline_from, config.escalate, config.top_k) == (0.5, False, 7)


@pytest.mark.parametrize("setting", ["nonsense=1", "top_k", "top_k=many", "escalate=maybe"])
def test_a_bad_setting_is_one_line_naming_it(fake_cli, setting, capsys):
    assert cli.main([*fake_cli, "--set", setting, "search", "x"]) == cli.EXIT_ERROR
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: --set {setting}:") and "\n" not in err


def test_serve_takes_its_options_and_the_generator_options(monkeypatch, tmp_path):
    """`rag serve` is the README's main command: its arguments must reach the server."""
    calls = []
    monkeypatch.setattr("rag.web.ui.serve", lambda config, **kwargs: calls.append((config, kwargs)))
    assert cli.main(["--index", str(tmp_path / "index"), "serve"]) == 0
    assert calls[-1][1] == {"host": "127.0.0.1", "port": 7860, "auth": None, "users": None}
    assert cli.main(["serve", "--port", "7999", "--backend", "http", "--url", "http://llm:8000", "--model", "m"]) == 0
    config, kwargs = calls[-1]
    assert (config.backend, config.llm_url, config.model, kwargs["port"]) == ("http", "http://llm:8000", "m", 7999)
