import socket
import subprocess
import sys
import time

import httpx
import pytest

from rag.errors import GenerationError, ModelNotInstalledError
from rag.generation import LlamaCppGenerator, OpenAIGenerator, TransformersGenerator, generate, make_generator
from rag.models import gguf_path

MESSAGES = [{"role": "user", "content": "Say hello in five words."}]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_server_is_one_clear_error():
    generator = OpenAIGenerator(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(GenerationError, match=r"cannot reach the model server at http://127.0.0.1:\d+"):
        generate(generator, MESSAGES)


def test_unknown_backend_and_model():
    with pytest.raises(GenerationError, match="unknown backend 'gpt'; choose llama.cpp, transformers or http"):
        make_generator("gpt", "x")
    with pytest.raises(GenerationError, match="the http backend needs a server URL"):
        make_generator("http", "x")
    with pytest.raises(ModelNotInstalledError, match="unknown generator model 'nope'"):
        gguf_path("nope")


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    """A real OpenAI-compatible server (llama-cpp-python's) on 127.0.0.1 serving SmolLM2-135M."""
    port = free_port()
    log = open(tmp_path_factory.mktemp("server") / "server.log", "w+")  # a pipe could fill and stall it
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf_path("smollm2-135m")), "--host", "127.0.0.1",
         "--port", str(port), "--n_ctx", "2048", "--model_alias", "smollm2"],
        stdout=log, stderr=subprocess.STDOUT, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            pytest.fail(f"server exited: {log.read()[-2000:]}")
        try:
            if httpx.get(f"{url}/v1/models", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("server did not start within 120 s")
    yield url
    proc.terminate()
    proc.wait(timeout=30)


@pytest.mark.slow
def test_http_backend_streams_the_same_greedy_text_as_in_process(llama_server):
    remote = OpenAIGenerator(llama_server, "smollm2")
    pieces = list(remote.stream(MESSAGES, max_tokens=20))
    assert len(pieces) > 3, "the reply arrives in pieces"
    local = generate(LlamaCppGenerator("smollm2-135m"), MESSAGES, max_tokens=20)
    assert "".join(pieces) == local


@pytest.mark.slow
def test_transformers_backend_matches_llama_cpp_on_the_same_weights():
    text = generate(TransformersGenerator("smollm2-135m", dtype="float32"), MESSAGES, max_tokens=12)
    assert text.startswith("Hello, welcome to my little corner")


def test_yes_and_refusal_shares_read_first_token_probabilities():
    from rag.generation import refusal_share, yes_share

    probabilities = {"Yes": 0.5, " yes": 0.1, "No": 0.2, "The": 0.15, "NOT": 0.05}
    assert abs(yes_share(probabilities) - 0.75) < 1e-9
    assert yes_share({"The": 1.0}) == 0.5
    assert refusal_share(probabilities, "NOT_FOUND") == 0.05
    assert refusal_share({"No": 0.9, "N": 0.1}, "NOT_FOUND") == 0.0, "too short to tell from No"


@pytest.mark.slow
def test_cached_prompt_prefixes_give_the_same_probabilities_as_a_fresh_model():
    """The saved system-message cache and the reused prefix change speed, never the numbers."""
    from rag.generation import LlamaCppGenerator, generate

    judge = [{"role": "system", "content": "Reply yes or no."}, {"role": "user", "content": "Is water wet?"}]
    other = [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "Name a colour."}]
    warm = LlamaCppGenerator("smollm2-135m")
    first = warm.first_token_probabilities(judge)
    generate(warm, other, max_tokens=4)
    again = warm.first_token_probabilities(judge)
    fresh = LlamaCppGenerator("smollm2-135m").first_token_probabilities(judge)
    assert list(first) == list(again) == list(fresh)
    assert all(abs(first[t] - fresh[t]) < 1e-6 and abs(again[t] - fresh[t]) < 1e-6 for t in fresh)
    shown = [judge[0], {"role": "user", "content": "Is fire cold?"}, {"role": "assistant", "content": "no"}]
    examples = [*shown, judge[1]]  # the worked example is saved with the instructions
    first = warm.first_token_probabilities(examples)
    generate(warm, other, max_tokens=4)
    again = warm.first_token_probabilities(examples)
    fresh = LlamaCppGenerator("smollm2-135m").first_token_probabilities(examples)
    assert len(warm._prefixes) == 3, "each system message, and the instructions with the example"
    assert list(first) == list(again) == list(fresh)
    assert all(abs(first[t] - fresh[t]) < 1e-6 and abs(again[t] - fresh[t]) < 1e-6 for t in fresh)


@pytest.mark.slow
def test_a_judge_score_does_not_depend_on_the_prompt_asked_before_it():
    """A prompt whose question starts as the last one's did was evaluated from where they part,
    in other batches than when asked first, and llama.cpp's numbers moved with that."""
    from rag.generation import LlamaCppGenerator

    def judge(claim: str) -> list[dict]:
        return [{"role": "system", "content": "Reply yes or no."},
                {"role": "user", "content": f"Passage: The harbour ferry leaves every hour from pier 4, "
                                            f"and the last one sails at 11 pm on weekdays.\n\nClaim: {claim}"}]

    model = LlamaCppGenerator()  # the default model: the small test model's numbers did not move
    first = model.first_token_probabilities(judge("The ferry leaves from pier 4."))
    for before in ("The ferry leaves from pier 4.", "The last ferry sails at 11 pm.", "Ferries run hourly."):
        model.first_token_probabilities(judge(before))
        assert model.first_token_probabilities(judge("The ferry leaves from pier 4.")) == first


@pytest.mark.slow
def test_the_same_prompt_twice_gets_the_same_reply():
    """Right after its own reply the whole prompt is cached; the reply must not come from the logits
    the last generation left behind (it continued that reply, or came back empty)."""
    from rag.generation import LlamaCppGenerator, generate

    messages = [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "Name a colour."}]
    model = LlamaCppGenerator("smollm2-135m")
    first = generate(model, messages, max_tokens=8)
    assert first.strip() and generate(model, messages, max_tokens=8) == first
    model.first_token_probabilities(messages)  # the cache now ends on the prompt, with its own logits
    assert generate(model, messages, max_tokens=8) == first
