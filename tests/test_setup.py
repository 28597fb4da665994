"""Setup builds llama.cpp for what the CPU lists, never with AMX (listed but unusable on some VMs)."""

from __future__ import annotations

import subprocess

from rag.config import PROJECT_ROOT


def cmake_args(tmp_path, flags: str) -> list[str]:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\nbugs\t\t: spectre_v1\n\nprocessor\t: 1\nflags\t\t: \n")
    done = subprocess.run(["bash", str(PROJECT_ROOT / ".ci" / "cmake-args"), str(cpuinfo)], capture_output=True,
                          text=True, check=True)
    return done.stdout.split()


def test_a_cpu_listing_avx512_and_amx_gets_avx512_without_amx(tmp_path):
    args = cmake_args(tmp_path, "fpu sse4_2 avx avx2 fma f16c bmi2 avx512f avx512_vnni amx_tile amx_int8 amx_bf16")
    assert args[0] == "-DGGML_NATIVE=OFF"
    assert {"-DGGML_AVX2=ON", "-DGGML_AVX512=ON", "-DGGML_AVX512_VNNI=ON", "-DGGML_AVX512_VBMI=OFF"} <= set(args)
    assert {"-DGGML_AMX_TILE=OFF", "-DGGML_AMX_INT8=OFF", "-DGGML_AMX_BF16=OFF"} <= set(args)
    assert not [a for a in args if "AMX" in a and a.endswith("=ON")]


def test_a_flag_is_matched_whole_not_as_a_prefix(tmp_path):
    # "avx512f" must not switch on AVX (it is listed separately) nor "avx" switch on AVX2.
    args = cmake_args(tmp_path, "fpu avx512f")
    assert "-DGGML_AVX512=ON" in args and "-DGGML_AVX=OFF" in args and "-DGGML_AVX2=OFF" in args
    assert cmake_args(tmp_path, "avx")[1:3] == ["-DGGML_SSE42=OFF", "-DGGML_AVX=ON"]
