"""fftconv-cli without a GPU: click's CliRunner on every command."""
from __future__ import annotations

import csv
import json
import re

import pytest
from click.testing import CliRunner

from fftconv_cupy.bench import causal, report
from fftconv_cupy.bench.causal import Row, parse_len
from fftconv_cupy.cli import main
from fftconv_cupy.cli._common import window
from fftconv_cupy.codegen.cache import DiskCache
from fftconv_cupy.codegen.nvrtc import nvrtc_available
from fftconv_cupy.runtime import device

NO_DEVICE = "fftconv-cli bench: no CUDA device found"


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    d = tmp_path / "cache"
    monkeypatch.setenv("FFTCONV_CUPY_CACHE_DIR", str(d))
    for knob in ("DISABLE_CACHE", "FORCE_COMPILE", "DUMP_DIR", "SYNC"):
        monkeypatch.delenv(f"FFTCONV_CUPY_{knob}", raising=False)
    return d


@pytest.fixture
def runner():
    return CliRunner()


def invoke(runner, *args):
    return runner.invoke(main, list(args), catch_exceptions=False)


# --- lengths and windows ------------------------------------------------------


@pytest.mark.parametrize("text,value", [("4096", 4096), ("64K", 65536), ("64k", 65536),
                                        ("1M", 1 << 20), (" 2M ", 2 << 20), ("1_000", 1000)])
def test_parse_len(text, value):
    assert parse_len(text) == value


@pytest.mark.parametrize("text", ["", "K", "1.5M", "-3", "0", "3Q", "1e6", "0x10", "4\u0664"])
def test_parse_len_rejects(text):
    with pytest.raises(ValueError):
        parse_len(text)


def test_windows_match_scipy():
    L, K = 10, 4
    assert window("causal", L, K) == (0, 10)
    assert window("full", L, K) == (0, 13)
    assert window("same", L, K) == (1, 10)
    assert window("valid", L, K) == (3, 7)
    assert window("valid", K, L) == (3, 7)      # SciPy swaps the operands


def test_bench_window_circular():
    assert causal.window("circular", 16, 4) == (0, 16)
    assert causal.fft_size(16, 4, "circular") == 16
    with pytest.raises(ValueError, match="K <= L"):
        causal.window("circular", 4, 16)


@pytest.mark.parametrize("mode", causal.BENCH_MODES)
@pytest.mark.parametrize("L,K", [(65536, 4096), (4096, 4096), (128, 1000), (100, 33)])
def test_bench_plan_computes_the_window(mode, L, K):
    """The plan the benchmark times (here on the NumPy executor) gives SciPy's window."""
    import numpy as np
    from scipy.signal import fftconvolve

    from fftconv_cupy.plan.reference import execute
    from fftconv_cupy.plan.spectrum import kernel_spectrum
    if mode == "circular" and K > L:
        pytest.skip("circular needs K <= L")
    plan = causal.bench_plan(L, K, mode)
    start, out_len = causal.window(mode, L, K)
    assert plan.outputs == out_len
    rng = np.random.default_rng(L + K)
    x = rng.standard_normal((2, 2, L)).astype(np.float32)
    k = rng.standard_normal((2, K)).astype(np.float32)
    y = execute(plan, x.reshape(4, L), kernel_spectrum(plan, k, np), np.arange(4) % 2)
    if mode == "circular":
        kp = np.zeros((2, L))
        kp[:, :K] = k
        ref = np.fft.irfft(np.fft.rfft(x.astype(np.float64)) * np.fft.rfft(kp)[None], L)
        ref = ref.reshape(4, -1)
    else:
        ref = fftconvolve(x.astype(np.float64), k.astype(np.float64)[None],
                          mode="full" if mode == "causal" else mode, axes=-1)
        ref = ref.reshape(4, -1)[:, :L] if mode == "causal" else ref.reshape(4, -1)
    assert y.shape == ref.shape == (4, out_len)
    assert np.linalg.norm(y - ref) / np.linalg.norm(ref) < 1e-6
    # the peers' FFT size holds the whole linear convolution (circular: L); even for rfft
    n = causal.fft_size(L, K, mode)
    assert (n == L) if mode == "circular" else (n >= L + K - 1 and n % 2 == 0)


def test_bench_plan_segments_short_kernels():
    plan = causal.bench_plan(65536, 4096, "same")
    assert plan.seg is not None and plan.outputs == 65536 and plan.len_k == 4096


# --- info -------------------------------------------------------------------


def test_info_shows_support_table(runner):
    r = invoke(runner, "info")
    assert r.exit_code == 0, r.output
    for word in ("fftconv-cupy", "NVRTC", "CuPy", "kernel cache", "fp32", "fp64", "FFMA",
                 "radices", "max transform", "modes", "orders", "valid"):
        assert word in r.output, word


def test_info_without_gpu(runner, monkeypatch):
    monkeypatch.setattr(device, "gpu_available", lambda: False)
    r = invoke(runner, "info")
    assert r.exit_code == 0
    assert "no CUDA device found" in r.output


def test_info_json(runner, cache_dir):
    DiskCache(cache_dir).put("k1", b"x" * 100)
    data = json.loads(invoke(runner, "info", "--json").output)
    assert data["cache"]["dir"] == str(cache_dir)
    assert data["cache"]["entries"] == 1 and data["cache"]["bytes"] > 100
    s = data["support"]
    assert set(s["precisions"]) >= {"fp32", "fp64"}
    assert s["precisions"]["fp32"]["io"] == ["float32", "complex64", "float16", "bfloat16"]
    assert s["precisions"]["bf16"]["unit"].startswith("tensor cores")
    assert 16 in s["radices"] and s["max_transform"] == 2**27
    assert {"version", "gpu", "cuda", "nvrtc", "cupy"} <= set(data)


# --- plan -------------------------------------------------------------------


def test_plan_json_round_trips(runner):
    r = invoke(runner, "plan", "--len", "1M", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    p = data["plan"]
    for key in ("layout", "n", "m", "order", "passes", "row_radices", "row_threads", "row_smem",
                "row_stride", "row_bank_cost", "col_radices", "col_threads", "col_smem", "a", "b",
                "out_start", "out_len"):
        assert key in p, key
    assert p["layout"] == "three_pass" and p["passes"] == 3
    assert p["n"] == 2 << 20 and p["m"] == 1 << 20 and p["a"] * p["b"] == p["m"]
    assert (p["out_start"], p["out_len"]) == (0, 1 << 20)
    c = data["cost"]
    assert c["rows"] == 1 and c["flops"] > 0 and c["hbm_bytes"] >= c["io_bytes"] == 8 << 20
    assert c["floor_s"] == pytest.approx(c["hbm_bytes"] / 3e12)


def test_plan_reports_the_bank_model(runner):
    r = invoke(runner, "plan", "--len", "512", "--json")
    p = json.loads(r.output)["plan"]
    assert p["row_radices"] == [16, 2, 16] and p["row_bank_cost"] == 1.0
    r = invoke(runner, "plan", "--len", "128")
    assert r.exit_code == 0 and "row stride 152" in r.output and "1.00x" in r.output


def test_plan_reports_row_ends_and_twiddle_tables(runner):
    """8K fp32 [16x32x16]: direct row ends; of its two stage tables the 64 KiB one holds
    powers of two."""
    r = invoke(runner, "plan", "--len", "8192", "--json")
    p = json.loads(r.output)["plan"]
    assert p["direct_rows"] is True
    assert [t["entries"] for t in p["stage_tables"]] == [list(range(32)), [1, 2, 4, 8]]
    r = invoke(runner, "plan", "--len", "8192")
    assert r.exit_code == 0
    text = re.sub(r"[\s│]+", " ", r.output)          # the table wraps long cells
    assert "first/last stage on global memory" in text
    assert "1 of them powers of two only" in text
    r = invoke(runner, "plan", "--len", "32768", "--json")
    p = json.loads(r.output)["plan"]
    if p["layout"] == "cluster":             # devices (or no device) with thread-block clusters
        assert p["halves"] is True and p["cluster_blocks"] == 2 and p["b"] == 2
    r = invoke(runner, "plan", "--len", "16384", "--dtype", "complex64", "--json")
    p = json.loads(r.output)["plan"]
    if p["layout"] == "cluster":             # complex rows: row pairs, every table of powers
        assert p["halves"] is False and p["cluster_blocks"] == 4
        assert p["direct_rows"] is False and all(len(t["entries"]) < t["radix"] for t in p["stage_tables"])


def test_plan_options(runner):
    r = invoke(runner, "plan", "--len", "4096", "--kernel-len", "100", "--mode", "same",
               "--dtype", "complex128", "--rows", "64", "--bandwidth", "2", "--json")
    data = json.loads(r.output)
    assert data["problem"]["precision"] == "fp64" and not data["problem"]["real"]
    assert (data["plan"]["out_start"], data["plan"]["out_len"]) == (49, 4096)
    assert data["plan"]["layout"] == "fused"
    assert data["cost"]["io_bytes"] == 64 * 2 * 4096 * 16
    assert data["cost"]["bandwidth_tbs"] == 2


def test_plan_table(runner):
    r = invoke(runner, "plan", "--len", "64K", "--rows", "8")
    assert r.exit_code == 0, r.output
    for word in ("layout", "factors", "order", "threads", "shared memory", "FLOPs", "HBM bytes",
                 "floor @ 3 TB/s"):
        assert word in r.output, word


@pytest.mark.parametrize("args,needle", [
    (["--len", "12X"], "--len"),
    (["--len", "0"], "--len"),
    (["--len", "1.5M"], "--len"),
    (["--len", "1M", "--kernel-len", "-1"], "--kernel-len"),
    (["--len", "1M", "--dtype", "int8"], "--dtype"),
    (["--len", "1M", "--precision", "fp8"], "--precision"),
    (["--len", "1M", "--order", "2"], "order 2"),
    (["--len", "1M", "--order", "99"], "--order"),
    (["--len", "1024M"], "exceeds the largest supported transform"),
    (["--len", "1M", "--bandwidth", "0"], "--bandwidth"),
    (["--len", "1M", "--rows", "10", "--channels", "3"], "--rows"),
])
def test_plan_bad_input_is_usage_error(runner, args, needle):
    r = runner.invoke(main, ["plan", *args])
    assert r.exit_code == 2, r.output
    assert needle in r.output


# --- render -----------------------------------------------------------------


def test_render_prints_cuda(runner):
    r = invoke(runner, "render", "--len", "4096")
    assert r.exit_code == 0
    assert 'extern "C" __global__' in r.stdout
    assert "fftconv_fused" in r.stdout


def test_render_writes_file(runner, tmp_path):
    out = tmp_path / "k.cu"
    r = invoke(runner, "render", "--len", "1M", "-o", str(out))
    assert r.exit_code == 0
    code = out.read_text()
    assert 'extern "C" __global__' in code and "fftconv_col_fwd" in code
    assert "wrote" in r.output


@pytest.mark.skipif(not nvrtc_available(), reason="NVRTC cannot be loaded")
def test_render_compile(runner, tmp_path):
    out, cubin = tmp_path / "k.cu", tmp_path / "k.cubin"
    r = invoke(runner, "render", "--len", "4096", "-o", str(out), "--compile", "--cubin", str(cubin))
    assert r.exit_code == 0, r.output
    assert "compiled for sm_90: cubin" in r.output
    assert cubin.read_bytes()[:4] == b"\x7fELF"


def test_render_bad_arch(runner):
    r = runner.invoke(main, ["render", "--len", "4096", "--compile", "--arch", "ampere"])
    assert r.exit_code == 2 and "--arch" in r.output


# --- cache ------------------------------------------------------------------


def test_cache_path_ls_clear(runner, cache_dir):
    assert invoke(runner, "cache", "path").output.strip() == str(cache_dir)
    assert "empty" in invoke(runner, "cache", "ls").output
    c = DiskCache(cache_dir)
    c.put("abc123", b"a" * 1000)
    c.put("def456", b"b" * 10)
    r = invoke(runner, "cache", "ls")
    assert "abc123" in r.output and "def456" in r.output and "2 entries" in r.output
    data = json.loads(invoke(runner, "cache", "ls", "--json").output)
    assert [e["key"] for e in data["entries"]] == ["abc123", "def456"]
    r = invoke(runner, "cache", "clear")
    assert "removed 2 entries" in r.output
    assert c.entries() == []
    assert "removed 0 entries" in invoke(runner, "cache", "clear").output


def test_cache_bad_env_is_usage_error(runner, monkeypatch):
    monkeypatch.setenv("FFTCONV_CUPY_SYNC", "ture")
    r = runner.invoke(main, ["cache", "path"])
    assert r.exit_code == 2 and "FFTCONV_CUPY_SYNC" in r.output


@pytest.mark.parametrize("cmd", [("render",), ("plan",), ("verify", "--cases", "1")], ids=str)
def test_bad_env_is_usage_error_everywhere(runner, monkeypatch, cmd):
    monkeypatch.setenv("FFTCONV_CUPY_FORCE_COMPILE", "2")
    args = list(cmd) + (["--len", "4096"] if cmd[0] != "verify" else [])
    r = runner.invoke(main, args)
    assert r.exit_code == 2 and "bad environment" in r.output and "FORCE_COMPILE" in r.output


@pytest.mark.parametrize("args", [
    ("bench", "--len", "4K", "--json", "{missing}/b.json"),
    ("bench", "--len", "4K", "--csv", "{missing}/b.csv"),
    ("bench", "--len", "4K", "--plot", "{missing}/b.png"),
    ("ablate", "order", "--len", "4K", "--json", "{missing}/a.json"),
    ("ablate", "sparsity", "--len", "4K", "--json", "{missing}/a.json"),
    ("render", "--len", "4096", "-o", "{missing}/k.cu"),
    ("render", "--len", "4096", "--compile", "--cubin", "{missing}/k.cubin"),
], ids=lambda a: " ".join(a[:2]) + " " + a[-2])
def test_output_paths_checked_before_any_work(runner, monkeypatch, tmp_path, args):
    # a benchmark must not run for minutes and then fail to save: the directory is checked
    # while the options are parsed (before the GPU check, so this runs without one)
    calls = []
    monkeypatch.setattr(device, "gpu_available", lambda: calls.append(1) or True)
    r = runner.invoke(main, [a.format(missing=tmp_path / "no" / "such") for a in args])
    assert r.exit_code == 2 and "does not exist" in r.output and calls == []


def test_negative_seed_is_a_usage_error(runner):
    for cmd in (["verify", "--cases", "1"], ["ablate", "sparsity", "--len", "4K"]):
        r = runner.invoke(main, cmd + ["--seed", "-1"])
        assert r.exit_code == 2 and "--seed" in r.output


# --- bench ------------------------------------------------------------------


def test_bench_without_gpu(runner, monkeypatch):
    monkeypatch.setattr(device, "gpu_available", lambda: False)
    r = runner.invoke(main, ["bench", "--len", "64K"])
    assert r.exit_code == 2
    assert r.stderr.strip() == NO_DEVICE
    assert r.stdout == ""


@pytest.mark.parametrize("args,needle", [
    (["--mode", "circular", "--len", "4K", "--kernel-len", "64K"], "K <= L"),
    (["--mode", "bogus"], "--mode"),
    (["--len", "64K", "--kernel-len", "12X"], "--kernel-len"),
    (["--len", "64K", "--kernel-len", "0"], "--kernel-len"),
    (["--len", "64K", "--kernel-len", "1.5K"], "--kernel-len"),
    (["--len", "4K", "--kernel-len", "1024M", "--mode", "full"], "--kernel-len"),
    (["--len", "1K", "--sweep"], "--sweep"),
    (["--len", "64Q"], "--len"),
    (["--dtype", "float32", "--precision", "fp64"], "--precision"),
    (["--dtype", "complex64"], "--dtype"),
    (["--len", "1M", "--order", "2"], "order"),
    (["--repeat", "0"], "--repeat"),
])
def test_bench_usage_errors(runner, monkeypatch, args, needle):
    monkeypatch.setattr(device, "gpu_available", lambda: True)   # validation comes first
    r = runner.invoke(main, ["bench", *args])
    assert r.exit_code == 2, r.output
    assert needle in r.output


def _fake_run_length(length, bandwidth, *, dtype="float32", peers=True, rows=None, on_impl=None,
                     mode="causal", klen=None, **kw):
    klen = length if klen is None else klen
    rows = rows or causal.rows_for(max(length, klen))
    out_len = causal.window(mode, length, klen)[1]
    floor = rows * (length + out_len) * 4 / bandwidth * 1e3
    out = []
    for impl, f in [(causal.OURS, 1.5)] + ([(causal.PEER_CUPYX, 6.0), (causal.PEER_RFFT, 3.0),
                                            (causal.PEER_TORCH, 3.5)] if peers else []):
        if on_impl:
            on_impl(impl)
        out.append(Row(impl, length, rows, dtype, f * floor, 0.9 * f * floor, 1.1 * f * floor,
                       floor, 2e-7, 10.0, "plan" if impl == causal.OURS else "",
                       mode=mode, kernel_len=klen, out_len=out_len))
    return out


@pytest.fixture
def fake_gpu(monkeypatch):
    monkeypatch.setattr(device, "gpu_available", lambda: True)
    monkeypatch.setattr(causal, "copy_bandwidth", lambda: 3e12)
    monkeypatch.setattr(causal, "device_name", lambda: "Fake GPU")
    monkeypatch.setattr(causal, "run_length", _fake_run_length)


def test_bench_report_with_fake_measurements(runner, fake_gpu, tmp_path):
    js, cs = tmp_path / "b.json", tmp_path / "b.csv"
    r = invoke(runner, "bench", "--len", "64K", "--repeat", "3", "--json", str(js), "--csv", str(cs))
    assert r.exit_code == 0, r.output
    for word in ("fftconv_cupy", "cupyx", "cupy rfft", "median ms", "GB/s", "× floor",
                 "vs cupyx", "rel. error", "peak MB", "Fake GPU"):
        assert word in r.stdout, word
    verdict = r.stdout.strip().splitlines()[-1]
    assert verdict.startswith("verdict: ") and "4.00x faster than cupyx" in verdict
    data = json.loads(js.read_text())
    assert data["implementations"] == [causal.OURS, *causal.PEERS]
    assert data["config"]["repeat"] == 3 and data["ok"] is True
    assert {r["impl"] for r in data["rows"]} == {causal.OURS, *causal.PEERS}
    with open(cs) as f:
        assert len(list(csv.DictReader(f))) == 1 + len(causal.PEERS)


@pytest.fixture
def recorded(fake_gpu, monkeypatch):
    """The calls run_length received (and the fake measurements)."""
    calls = []

    def record(length, bandwidth, **kw):
        calls.append(dict(kw, length=length))
        return _fake_run_length(length, bandwidth, **kw)
    monkeypatch.setattr(causal, "run_length", record)
    return calls


def test_bench_default_mode_is_causal_with_k_equal_l(runner, recorded, tmp_path):
    js = tmp_path / "b.json"
    r = invoke(runner, "bench", "--len", "4K", "--no-peers", "--json", str(js))
    assert r.exit_code == 0, r.output
    assert [(c["length"], c["mode"], c["klen"]) for c in recorded] == [(4096, "causal", 4096)]
    data = json.loads(js.read_text())
    assert data["config"]["mode"] == "causal" and data["config"]["kernel_len"] == 4096
    (row,) = data["rows"]
    assert (row["mode"], row["length"], row["kernel_len"], row["out_len"]) == ("causal", 4096, 4096, 4096)
    assert "causal convolution, K = L" in r.stdout


@pytest.mark.parametrize("mode,start,out_len", [("causal", 0, 65536), ("full", 0, 65536 + 4095),
                                                ("same", 2047, 65536), ("valid", 4095, 65536 - 4095)])
def test_bench_modes_and_kernel_len(runner, recorded, tmp_path, mode, start, out_len):
    js, cs = tmp_path / "b.json", tmp_path / "b.csv"
    r = invoke(runner, "bench", "--len", "64K", "--kernel-len", "4K", "--mode", mode, "--repeat", "3",
               "--json", str(js), "--csv", str(cs))
    assert r.exit_code == 0, r.output
    assert causal.window(mode, 65536, 4096) == (start, out_len)
    (call,) = recorded
    assert (call["length"], call["mode"], call["klen"], call["repeat"]) == (65536, mode, 4096, 3)
    assert f"{mode} convolution, K = 4K" in r.stdout
    assert "4.00x faster than cupyx" in r.stdout.strip().splitlines()[-1]
    data = json.loads(js.read_text())
    assert data["config"]["mode"] == mode and data["config"]["kernel_len"] == 4096
    assert data["ok"] is True and data["implementations"] == [causal.OURS, *causal.PEERS]
    for row in data["rows"]:
        assert (row["mode"], row["length"], row["kernel_len"], row["out_len"]) == (mode, 65536, 4096, out_len)
        # GB/s counts x and y of the window's length
        io = row["rows"] * (65536 + out_len) * 4
        assert row["gbps"] == pytest.approx(io / (row["ms"] * 1e-3) / 1e9)
        assert row["floor_ms"] == pytest.approx(io / 3e12 * 1e3)
    with open(cs) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1 + len(causal.PEERS)
    assert {(r["mode"], r["kernel_len"], r["out_len"]) for r in rows} == {(mode, "4096", str(out_len))}


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_bench_sweep_kernel_len(runner, recorded, tmp_path, mode):
    js = tmp_path / "b.json"
    r = invoke(runner, "bench", "--sweep", "--mode", mode, "--no-peers", "--json", str(js))
    assert r.exit_code == 0, r.output
    assert [c["klen"] for c in recorded] == list(causal.SWEEP_LENGTHS)      # K = L at every length
    assert json.loads(js.read_text())["config"]["kernel_len"] is None
    recorded.clear()
    r = invoke(runner, "bench", "--sweep", "--mode", mode, "--kernel-len", "1K", "--no-peers",
               "--json", str(js))
    assert r.exit_code == 0, r.output
    assert {c["klen"] for c in recorded} == {1024} and {c["mode"] for c in recorded} == {mode}
    data = json.loads(js.read_text())
    assert data["config"]["kernel_len"] == 1024
    assert [row["kernel_len"] for row in data["rows"]] == [1024] * len(causal.SWEEP_LENGTHS)


def test_bench_failure_rows_carry_mode_and_kernel_len(runner, fake_gpu, monkeypatch, tmp_path):
    def broken(length, bandwidth, **kw):
        raise MemoryError("out of memory")
    monkeypatch.setattr(causal, "run_length", broken)
    js = tmp_path / "b.json"
    r = runner.invoke(main, ["bench", "--len", "64K", "--kernel-len", "4096", "--mode", "valid",
                             "--json", str(js)])
    assert r.exit_code == 1 and "out of memory" in r.output
    assert not js.exists()           # nothing was measured: no report


def test_bench_report_rows_mixed_failure(runner, fake_gpu, monkeypatch, tmp_path):
    def flaky(length, bandwidth, **kw):
        if length == 1 << 22:
            raise MemoryError("out of memory")
        return _fake_run_length(length, bandwidth, **kw)
    monkeypatch.setattr(causal, "run_length", flaky)
    js = tmp_path / "b.json"
    r = runner.invoke(main, ["bench", "--sweep", "--mode", "same", "--kernel-len", "64", "--no-peers",
                             "--json", str(js)])
    assert r.exit_code == 1, r.output
    data = json.loads(js.read_text())
    err = [row for row in data["rows"] if "error" in row]
    assert err == [{"mode": "same", "length": 1 << 22, "kernel_len": 64, "dtype": "float32",
                    "error": "MemoryError: out of memory"}]
    assert data["ok"] is False


def test_row_defaults_keep_the_causal_problem():
    r = Row(causal.OURS, 4096, 8, "float32", 1.0, 0.9, 1.1, 0.5, 1e-7, 1.0)
    assert (r.mode, r.kernel_len, r.out_len) == ("causal", 4096, 4096)
    assert r.io_bytes == 2 * 8 * 4096 * 4
    r = Row(causal.OURS, 4096, 8, "float32", 1.0, 0.9, 1.1, 0.5, 1e-7, 1.0, mode="full", kernel_len=100)
    assert r.out_len == 4195 and r.io_bytes == 8 * (4096 + 4195) * 4


def test_bench_sweep_failure_exits_1(runner, fake_gpu, monkeypatch):
    def flaky(length, bandwidth, **kw):
        if length == 1 << 22:
            raise MemoryError("out of memory")
        return _fake_run_length(length, bandwidth, **kw)
    monkeypatch.setattr(causal, "run_length", flaky)
    r = runner.invoke(main, ["bench", "--sweep", "--no-peers"])
    assert r.exit_code == 1, r.output
    assert "FAILED" in r.stdout and "out of memory" in r.stdout
    assert "geomean over 15 lengths" in r.stdout


def test_verdict_flags_bad_error():
    rows = _fake_run_length(4096, 3e12)
    rows[0].rel_err = 1e-3
    text, ok = report.verdict(rows, 1e-6)
    assert not ok and "FAIL" in text


# --- verify -----------------------------------------------------------------


def test_verify_passes(runner):
    r = invoke(runner, "verify", "--cases", "10", "--seed", "0")
    assert r.exit_code == 0, r.output
    assert "10/10 passed" in r.output
    assert r.output.count("PASS") == 10


def test_verify_failure_exits_1(runner, monkeypatch):
    import fftconv_cupy
    import numpy as np
    real = fftconv_cupy.fftconvolve
    monkeypatch.setattr(fftconv_cupy, "fftconvolve",
                        lambda *a, **k: np.asarray(real(*a, **k)) * 1.001)
    r = runner.invoke(main, ["verify", "--cases", "3", "--failures-only"])
    assert r.exit_code == 1
    assert "3 FAILED" in r.output and "FAIL" in r.output


def test_verify_bad_cases(runner):
    r = runner.invoke(main, ["verify", "--cases", "0"])
    assert r.exit_code == 2 and "--cases" in r.output


def test_plan_reports_tensor_core_stages(runner):
    r = runner.invoke(main, ["plan", "--len", "4K", "--precision", "fp16"])
    assert r.exit_code == 0, r.output
    assert "3 of 3 stages" in r.output and "m16n8k16 f16" in r.output
    r = runner.invoke(main, ["plan", "--len", "4K", "--precision", "fp32"])
    assert "tensor cores" not in r.output
