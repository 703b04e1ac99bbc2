"""fftconv-cli on a CUDA device: bench, info and verify through click's CliRunner."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from fftconv_cupy.bench.causal import OURS, PEERS
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


def test_info_names_the_gpu():
    data = json.loads(CliRunner().invoke(main, ["info", "--json"]).output)
    assert data["gpu"] is not None and data["gpu"]["sm_count"] > 0
    assert data["gpu"]["smem_per_block_optin"] > 48 * 1024


def test_verify_on_gpu():
    r = CliRunner().invoke(main, ["verify", "--cases", "20", "--seed", "3"])
    assert r.exit_code == 0, r.output
    assert "on GPU" in r.output and "20/20 passed" in r.output
