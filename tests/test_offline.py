"""Models and encodings load with no network: sockets are blocked in a fresh interpreter."""

import subprocess
import sys
import textwrap

import pytest

BLOCK_NETWORK = textwrap.dedent(
    """
    import socket
    def refuse(*args, **kwargs):
        raise OSError("network blocked by test")
    socket.socket.connect = refuse
    socket.create_connection = refuse
    socket.getaddrinfo = refuse
    """
)


def run_offline(code: str, tmp_path) -> subprocess.CompletedProcess:
    env = {"TIKTOKEN_CACHE_DIR": str(tmp_path / "tiktoken-cache"), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-c", BLOCK_NETWORK + textwrap.dedent(code)], env=env,
                          capture_output=True, text=True, timeout=300)


def test_tiktoken_works_with_sockets_blocked(tmp_path):
    result = run_offline(
        """
        from rag.chunking import tiktoken_count
        print(tiktoken_count("Offline tokenisation works."))
        import tiktoken
        try:
            tiktoken.get_encoding("cl100k_base")
        except Exception as exc:
            print("download refused:", type(exc).__name__)
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "5"
    assert lines[1].startswith("download refused"), "the block must really stop the online encoding"


@pytest.mark.slow
def test_embedder_loads_from_its_package_with_sockets_blocked(tmp_path):
    result = run_offline(
        """
        from rag.embedding import SentenceTransformerEmbedder
        e = SentenceTransformerEmbedder()
        v = e.encode(["hello world", "goodbye"])
        print(e.dim, e.window, v.shape, round(float((v[0] ** 2).sum()), 4))
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "384 256 (2, 384) 1.0"
