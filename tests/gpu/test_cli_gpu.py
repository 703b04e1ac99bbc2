"""fftconv-cli on a CUDA device: bench, info and verify through click's CliRunner."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from fftconv_cupy.bench import causal
from fftconv_cupy.bench.causal import OURS, PEER_CUPYX, PEER_RFFT, PEER_TORCH, PEERS
from fftconv_cupy.cli import main
from fftconv_cupy.plan.support import tolerance

pytestmark = pytest.mark.gpu
cupy = pytest.importorskip("cupy")


def test_bench_json_includes_all_peers(tmp_path):
    path = tmp_path / "bench.json"
    r = CliRunner().invoke(main, ["bench", "--len", "64K", "--repeat", "5", "--json", str(path)])
    assert r.exit_code == 0, r.output
    assert "verdict:" in r.stdout
    data = json.loads(path.read_text())
    assert data["implementations"] == [OURS, *PEERS]
    assert data["ok"] is True and data["gpu"] and data["copy_bandwidth"] > 0
    rows = {row["impl"]: row for row in data["rows"]}
    assert set(rows) == {OURS, *PEERS}
    for row in rows.values():
        assert row["length"] == 65536 and row["ms"] > 0 and row["gbps"] > 0
        assert row["p10"] <= row["ms"] <= row["p90"]
    assert rows[OURS]["rel_err"] <= tolerance("fp32", 2 * 65536)


def test_bench_same_mode_short_kernel_json(tmp_path):
    """--mode same with a 4096-sample kernel: ours (an overlap-save plan) and the peers agree."""
    path = tmp_path / "bench.json"
    r = CliRunner().invoke(main, ["bench", "--len", "64K", "--kernel-len", "4096", "--mode", "same",
                                  "--repeat", "3", "--json", str(path)])
    assert r.exit_code == 0, r.output
    assert "verdict:" in r.stdout and "same convolution, K = 4K" in r.stdout
    data = json.loads(path.read_text())
    expected = [OURS, PEER_CUPYX, PEER_RFFT] + ([PEER_TORCH] if causal._torch() is not None else [])
    assert data["implementations"] == expected
    assert data["config"]["mode"] == "same" and data["config"]["kernel_len"] == 4096
    assert data["config"]["lengths"] == [65536] and data["config"]["repeat"] == 3
    assert data["ok"] is True and data["gpu"] and data["copy_bandwidth"] > 0
    rows = {row["impl"]: row for row in data["rows"]}
    assert set(rows) == set(expected) and all("error" not in row for row in data["rows"])
    start, out_len = causal.window("same", 65536, 4096)
    assert (start, out_len) == (2047, 65536)
    for row in rows.values():
        assert (row["mode"], row["length"], row["kernel_len"], row["out_len"]) == ("same", 65536, 4096, 65536)
        assert row["rows"] == causal.rows_for(65536)
        assert row["ms"] > 0 and row["gbps"] > 0 and row["p10"] <= row["ms"] <= row["p90"]
        # floor: x and y (the window's length) once each
        io = row["rows"] * (65536 + out_len) * 4
        assert row["floor_ms"] == pytest.approx(io / data["copy_bandwidth"] * 1e3)
        # every implementation computes the same window as the float64 reference
        assert row["rel_err"] <= 1e-5, row["impl"]
    assert rows[OURS]["rel_err"] <= tolerance("fp32", causal.fft_size(65536, 4096))
    assert "k=4096" in rows[OURS]["plan"]


def test_info_names_the_gpu():
    data = json.loads(CliRunner().invoke(main, ["info", "--json"]).output)
    assert data["gpu"] is not None and data["gpu"]["sm_count"] > 0
    assert data["gpu"]["smem_per_block_optin"] > 48 * 1024


def test_verify_on_gpu():
    r = CliRunner().invoke(main, ["verify", "--cases", "20", "--seed", "3"])
    assert r.exit_code == 0, r.output
    assert "on GPU" in r.output and "20/20 passed" in r.output


def test_bench_circular(tmp_path):
    out = tmp_path / "c.json"
    r = CliRunner().invoke(main, ["bench", "--len", "4096", "--kernel-len", "100", "--mode", "circular",
                                  "--repeat", "3", "--json", str(out)])
    assert r.exit_code == 0, r.output
    data = json.loads(out.read_text())
    rows = {row["impl"]: row for row in data["rows"]}
    assert OURS in rows and "cupyx.scipy.signal.fftconvolve" not in rows   # cupyx has no circular mode
    for row in rows.values():
        assert row["out_len"] == 4096 and row["rel_err"] <= 1e-5, row["impl"]
