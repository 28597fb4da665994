from conftest import ScriptedGenerator

from rag.bench.generation import bench_backend, memory_bandwidth_gb_s


def test_backend_row_measures_first_token_and_decode_rate():
    prompts = [[{"role": "user", "content": "one two three"}]] * 2
    row = bench_backend("scripted", lambda: ScriptedGenerator("alpha beta gamma delta", "alpha beta gamma delta"),
                        prompts, lambda text: len(text.split()), model_bytes=2e9, bandwidth=10.0, max_tokens=8)
    assert row["prompts"] == 2 and row["prompt_tokens"] == 3
    assert row["ttft_p50_s"] <= row["total_p50_s"]
    assert row["limit_tok_s"] == 5.0 and row["model_gb_per_token"] == 2.0


def test_memory_bandwidth_is_positive():
    assert memory_bandwidth_gb_s(size_mb=8, repeats=2) > 0.1
