"""fftconv-cli ablate order on a CUDA device, through click's CliRunner."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from fftconv_cupy.bench import ablate as ab
from fftconv_cupy.bench import causal
from fftconv_cupy.cli import main
from fftconv_cupy.plan.support import tolerance

pytestmark = pytest.mark.gpu
cupy = pytest.importorskip("cupy")


def _smem():
    from fftconv_cupy.runtime.device import current_limits
    return current_limits()["smem_optin"]


def test_ablate_order_64k_json_round_trips(tmp_path):
    path = tmp_path / "ablate.json"
    r = CliRunner().invoke(main, ["ablate", "order", "--len", "64K", "--orders", "3,4,5", "--repeat", "3",
                                  "--json", str(path)])
    assert r.exit_code == 0, r.output
    text = path.read_text()
    data = json.loads(text)
    assert json.loads(json.dumps(data)) == data
    L, rows = 65536, causal.rows_for(65536)

    # the stated peak: SMs x 128 FP32 lanes x 2 x SM clock (kHz)
    attrs = cupy.cuda.Device().attributes
    peak = data["peak"]
    assert data["gpu"] == causal.device_name()
    assert peak["precision"] == "fp32" and peak["lanes"] == 128
    assert (peak["sm_count"], peak["clock_khz"]) == (attrs["MultiProcessorCount"], attrs["ClockRate"])
    assert peak["flops"] == pytest.approx(attrs["MultiProcessorCount"] * 128 * 2 * attrs["ClockRate"] * 1e3)
    assert ab.describe_peak(peak) in " ".join(r.stdout.split())
    assert data["config"] == {"workload": "causal", "length": L, "kernel_len": L, "orders": [3, 4, 5],
                              "dtype": "float32", "precision": "fp32", "rows": None, "repeat": 3}
    assert data["ok"] is True

    by_order = {row["order"]: row for row in data["rows"]}
    assert [row["order"] for row in data["rows"]] == [3, 4, 5, None]
    # 65536 points need at least 4 stages of radix <= 16: order 3 is a row with the planner's message
    plans = ab.order_plans(L, [3, 4, 5], smem_limit=_smem())
    assert isinstance(plans[3], str)
    assert by_order[3]["error"] == plans[3] and by_order[3]["inadmissible"] is True
    assert "not admitted" in r.stdout

    base = by_order[None]
    assert base["impl"] == ab.BASELINE and "error" not in base
    assert base["ms"] > 0 and base["p10"] <= base["ms"] <= base["p90"]
    assert base["rel_err"] <= 1e-5 and base["peak_mb"] > 0
    tol = tolerance("fp32", causal.fft_size(L, L))
    assert data["tolerance"] == tol
    out_mb = rows * L * 4 / 2**20
    for p in (4, 5):
        row, plan = by_order[p], plans[p]
        assert "error" not in row, row
        assert row["impl"] == causal.OURS and row["plan_order"] == p == plan.order
        assert row["plan"] == plan.describe() and row["factors"] == ab.factors(plan)
        assert row["rows"] == rows and row["passes"] == plan.passes
        assert row["ms"] > 0 and row["p10"] <= row["ms"] <= row["p90"]
        assert row["rel_err"] <= tol
        assert row["peak_mb"] >= out_mb                    # the output is counted
        assert row["flops"] == pytest.approx(plan.flops(rows))
        assert row["flop_util"] == pytest.approx(row["flops"] / (row["ms"] * 1e-3) / peak["flops"])
        assert 0 < row["flop_util"] < 1
        assert row["speedup"] == pytest.approx(base["ms"] / row["ms"])
        assert row["memory_saving"] == pytest.approx(base["peak_mb"] / row["peak_mb"])
        assert f"{row['ms']:.3f} ({row['p10']:.3f}–{row['p90']:.3f})" in r.stdout
    assert data["summary"] == r.stdout.strip().splitlines()[-1]


def test_ablate_order_fp64(tmp_path):
    path = tmp_path / "ablate.json"
    r = CliRunner().invoke(main, ["ablate", "order", "--len", "4K", "--orders", "3,4", "--dtype", "float64",
                                  "--rows", "1024", "--repeat", "3", "--json", str(path)])
    assert r.exit_code == 0, r.output
    data = json.loads(path.read_text())
    assert data["peak"]["lanes"] == 64 and data["config"]["precision"] == "fp64"
    for row in data["rows"]:
        assert "error" not in row, row
        if row["impl"] == causal.OURS:
            assert row["precision"] == "fp64" and row["rows"] == 1024
            assert row["rel_err"] <= tolerance("fp64", 8192)


def test_ablate_sparsity_8k_json(tmp_path):
    path = tmp_path / "sparsity.json"
    r = CliRunner().invoke(main, ["ablate", "sparsity", "--len", "8K", "--patterns", "block,uniform",
                                  "--density", "0.25", "--rows", "256", "--repeat", "3",
                                  "--json", str(path)])
    assert r.exit_code == 0, r.output
    data = json.loads(path.read_text())
    rows = {row["pattern"]: row for row in data["rows"]}
    assert set(rows) == {"dense", "block", "uniform"} and data["ok"] is True
    kept, grain = map(int, rows["block"]["sparse"].split("/"))
    assert kept / grain == 0.25 and rows["uniform"]["sparse"] is None
    for name in ("block", "uniform"):
        row = rows[name]
        assert row["oracle_err"] <= tolerance("fp32", 16384)
        assert row["kept"] == pytest.approx(0.25, abs=0.01)
        assert row["speedup"] == pytest.approx(rows["dense"]["ms"] / row["ms"])
        assert all(row[f"snr_{s}"] > 0 for s in ("chirp", "coloured", "speech", "radar"))
