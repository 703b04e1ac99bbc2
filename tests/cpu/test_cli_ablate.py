"""fftconv-cli ablate without a GPU: CliRunner with fake measurements."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from fftconv_cupy.bench import ablate as ab
from fftconv_cupy.bench import causal
from fftconv_cupy.cli import main
from fftconv_cupy.cli.ablate import NO_DEVICE
from fftconv_cupy.runtime import device

FAKE_PEAK = {"precision": "fp32", "sm_count": 132, "clock_khz": 1980000, "lanes": 128,
             "flops": ab.peak_flops("fp32", 132, 1980000)}


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    d = tmp_path / "cache"
    monkeypatch.setenv("FFTCONV_CUPY_CACHE_DIR", str(d))
    return d


@pytest.fixture
def runner(monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")     # planner messages on one line of the table
    return CliRunner()


def flat(text: str) -> str:
    """Whitespace collapsed (rich wraps a title longer than its table)."""
    return " ".join(text.split())


def _fake_run_orders(length, orders, *, dtype="float32", precision="auto", rows=None, repeat=20,
                     peak=None, on_step=None, baseline_error=None, bad_err_order=None,
                     failed_order=None):
    """run_orders' rows with made-up times: the planner's real plans and messages."""
    prec = ab.precision_of(dtype, precision)
    rows = rows or causal.rows_for(length)
    batch, heads = causal.batch_heads(rows)
    out = []
    for p, plan in ab.order_plans(length, orders, dtype=dtype, precision=precision).items():
        if isinstance(plan, str):
            out.append(ab.error_row(length, p, rows, dtype, prec, plan, inadmissible=True))
            continue
        if on_step:
            on_step(f"order {p}")
        if p == failed_order:
            out.append(ab.error_row(length, p, rows, dtype, prec, "MemoryError: out of memory",
                                    inadmissible=False))
            continue
        ms = 1.0 + 0.25 * p
        out.append({"impl": causal.OURS, "order": p, "plan_order": plan.order, "length": length,
                    "rows": rows, "batch": batch, "channels": heads, "dtype": dtype,
                    "precision": prec, "plan": plan.describe(), "factors": ab.factors(plan),
                    "layout": plan.layout, "passes": plan.passes, "ms": ms, "p10": 0.9 * ms,
                    "p90": 1.1 * ms, "peak_mb": 100.0 * p,
                    "rel_err": 1e-3 if p == bad_err_order else (2e-7 if prec == "fp32" else 2e-15),
                    "flops": float(plan.flops(rows)), "hbm_bytes": plan.hbm_bytes(rows, heads)})
    if all("error" in r for r in out):
        return out
    base = {"impl": ab.BASELINE, "order": None, "length": length, "rows": rows, "dtype": dtype}
    if baseline_error:
        base["error"] = baseline_error
    else:
        base.update(ms=8.0, p10=7.5, p90=8.5, peak_mb=1200.0, rel_err=3e-7)
    out.append(base)
    peak = peak or FAKE_PEAK
    return ab.derive(out, peak["flops"] if isinstance(peak, dict) else peak)


@pytest.fixture
def fake_gpu(monkeypatch):
    """A GPU that is there, named, with a stated peak; run_orders records its calls."""
    calls = []

    def record(length, orders, **kw):
        calls.append(dict(kw, length=length, orders=list(orders)))
        return _fake_run_orders(length, orders, **kw)
    monkeypatch.setattr(device, "gpu_available", lambda: True)
    monkeypatch.setattr(causal, "device_name", lambda: "Fake GPU")
    monkeypatch.setattr(ab, "device_peak", lambda precision="fp32", device=None: dict(
        FAKE_PEAK, precision=precision, lanes=ab.LANES[precision],
        flops=ab.peak_flops(precision, 132, 1980000)))
    monkeypatch.setattr(ab, "run_orders", record)
    return calls


# --- the pieces -----------------------------------------------------------------


def test_peak_flops_formula():
    assert ab.peak_flops("fp32", 132, 1980000) == pytest.approx(132 * 128 * 2 * 1.98e9)
    assert ab.peak_flops("fp64", 132, 1980000) == pytest.approx(132 * 64 * 2 * 1.98e9)
    text = ab.describe_peak(FAKE_PEAK)
    assert "66.9 TFLOP/s fp32" in text and "132 SMs x 128 lanes x 2 x 1.980 GHz" in text


def test_order_plans_messages():
    plans = ab.order_plans(1 << 20, [2, 5, 6])
    assert isinstance(plans[2], str) and "order 2" in plans[2]
    assert plans[5].order == 5 and plans[6].order == 6
    assert (plans[5].len_x, plans[5].len_k, plans[5].out_start, plans[5].out_len) == (1 << 20,) * 2 + (0, 1 << 20)
    assert ab.factors(plans[5]) == "32x16 | 16x8x16"      # 2K middle rows (plan._three_pass_plan)
    fused = ab.order_plans(4096, [2, 4])
    assert "cannot be written as 2 stages" in fused[2] and ab.factors(fused[4]) == "8x8x8x8"
    assert ab.order_plans(4096, [4], dtype="float64")[4].precision == "fp64"


def test_derive():
    rows = [{"impl": causal.OURS, "order": 4, "ms": 2.0, "peak_mb": 100.0, "flops": 1e9},
            ab.error_row(8, 2, 1, "float32", "fp32", "no", inadmissible=True),
            {"impl": ab.BASELINE, "order": None, "ms": 8.0, "peak_mb": 500.0}]
    ab.derive(rows, 1e12)
    r = rows[0]
    assert r["speedup"] == 4.0 and r["memory_saving"] == 5.0
    assert r["achieved_flops"] == pytest.approx(5e11) and r["flop_util"] == pytest.approx(0.5)
    assert "speedup" not in rows[1]
    rows = ab.derive([{"impl": causal.OURS, "order": 4, "ms": 2.0, "peak_mb": 100.0, "flops": 1e9}], 1e12)
    assert rows[0]["speedup"] is None and rows[0]["memory_saving"] is None


# --- ablate order -----------------------------------------------------------------


def test_ablate_order_table(runner, fake_gpu):
    r = runner.invoke(main, ["ablate", "order", "--len", "1M", "--orders", "2,3,4,5,6", "--repeat", "3"])
    assert r.exit_code == 0, r.output
    out = r.stdout
    for word in ("Monarch order ablation", "L=1,048,576", "Fake GPU", "order", "factors", "passes",
                 "median ms (p10–p90)", "vs cupyx", "peak MB", "memory saving", "FLOP util.",
                 "rel. error", "cupyx (baseline)"):
        assert word in out, word
    # the stated peak in the title
    assert "peak 66.9 TFLOP/s fp32 (132 SMs x 128 lanes x 2 x 1.980 GHz)" in flat(out)
    # order 5: ms 2.25, 500 MB vs cupyx 8 ms, 1200 MB
    assert "32x16 | 16x8x16" in out and "8x8x8 | 16x8x16" in out
    assert "2.250 (2.025–2.475)" in out and "3.56×" in out and "2.40×" in out
    plan5 = ab.order_plans(1 << 20, [5])[5]
    util = plan5.flops(causal.rows_for(1 << 20)) / 2.25e-3 / FAKE_PEAK["flops"]
    assert f"{100 * util:.1f}%" in out
    assert "2.0e-07" in out
    # orders 2, 3, 4 are rows with the planner's message
    for p in (2, 3, 4):
        assert f"not admitted: order {p} < 5 for a 1048576-point transform" in out
    summary = out.strip().splitlines()[-1]
    assert summary.startswith("ablation: fastest: order 5 (32x16 | 16x8x16, 2.250 ms, 3.56x faster "
                              "than cupyx, 2.40x less memory")
    (call,) = fake_gpu
    assert call["orders"] == [2, 3, 4, 5, 6] and call["repeat"] == 3 and call["rows"] is None
    assert call["dtype"] == "float32" and call["peak"]["precision"] == "fp32"


def test_ablate_order_json_round_trips(runner, fake_gpu, tmp_path):
    js = tmp_path / "a.json"
    r = runner.invoke(main, ["ablate", "order", "--len", "64K", "--orders", "3,4,5", "--rows", "128",
                             "--repeat", "5", "--json", str(js)])
    assert r.exit_code == 0, r.output
    data = json.loads(js.read_text())
    assert data["gpu"] == "Fake GPU" and data["ok"] is True
    assert data["peak"] == FAKE_PEAK
    assert data["config"] == {"workload": "causal", "length": 65536, "kernel_len": 65536,
                              "orders": [3, 4, 5], "dtype": "float32", "precision": "fp32",
                              "rows": 128, "repeat": 5}
    expected = _fake_run_orders(65536, [3, 4, 5], rows=128)
    assert data["rows"] == json.loads(json.dumps(expected))
    by_order = {row["order"]: row for row in data["rows"]}
    assert set(by_order) == {3, 4, 5, None}
    assert by_order[3]["inadmissible"] is True and "order 3 < 4" in by_order[3]["error"]
    for p in (4, 5):
        row = by_order[p]
        assert row["plan_order"] == p and row["rows"] == 128 and row["passes"] == 3
        assert row["speedup"] == pytest.approx(8.0 / row["ms"])
        assert row["memory_saving"] == pytest.approx(1200.0 / row["peak_mb"])
        assert row["flop_util"] == pytest.approx(row["flops"] / (row["ms"] * 1e-3) / FAKE_PEAK["flops"])
        assert f"{row['ms']:.3f} ({row['p10']:.3f}–{row['p90']:.3f})" in r.stdout
    assert by_order[None]["impl"] == ab.BASELINE
    assert data["summary"] == r.stdout.strip().splitlines()[-1]


def test_ablate_order_fp64_peak(runner, fake_gpu, tmp_path):
    js = tmp_path / "a.json"
    r = runner.invoke(main, ["ablate", "order", "--len", "4K", "--orders", "3,4", "--dtype", "float64",
                             "--json", str(js)])
    assert r.exit_code == 0, r.output
    data = json.loads(js.read_text())
    assert data["peak"]["lanes"] == 64 and data["peak"]["flops"] == ab.peak_flops("fp64", 132, 1980000)
    assert data["config"]["precision"] == "fp64" and data["tolerance"] == 1e-13
    assert "peak 33.5 TFLOP/s fp64 (132 SMs x 64 lanes x 2 x 1.980 GHz)" in flat(r.stdout)
    assert "float64 (fp64)" in r.stdout and "2.0e-15" in r.stdout
    assert fake_gpu[0]["dtype"] == "float64"


def test_ablate_order_bad_error_exits_1(runner, fake_gpu, monkeypatch):
    monkeypatch.setattr(ab, "run_orders", lambda L, orders, **kw: _fake_run_orders(
        L, orders, bad_err_order=5, **kw))
    r = runner.invoke(main, ["ablate", "order", "--len", "1M", "--orders", "5,6"])
    assert r.exit_code == 1, r.output
    assert "FAIL: rel. error above 1e-06 at order 5" in r.stdout.strip().splitlines()[-1]


def test_ablate_order_measurement_failure_exits_1(runner, fake_gpu, monkeypatch, tmp_path):
    monkeypatch.setattr(ab, "run_orders", lambda L, orders, **kw: _fake_run_orders(
        L, orders, failed_order=6, baseline_error="OutOfMemoryError: cupyx", **kw))
    js = tmp_path / "a.json"
    r = runner.invoke(main, ["ablate", "order", "--len", "1M", "--orders", "5,6", "--json", str(js)])
    assert r.exit_code == 1, r.output
    assert "FAILED: MemoryError: out of memory" in r.stdout
    assert "cupyx: FAILED OutOfMemoryError: cupyx" in r.stdout
    assert "FAILED: order 6, cupyx" in r.stdout.strip().splitlines()[-1]
    data = json.loads(js.read_text())
    assert data["ok"] is False
    assert data["rows"][0]["speedup"] is None and data["rows"][0]["memory_saving"] is None


def test_ablate_order_nothing_ran(runner, fake_gpu, monkeypatch):
    monkeypatch.setattr(ab, "run_orders", lambda L, orders, **kw: [
        ab.error_row(L, p, 8, "float32", "fp32", "RuntimeError: launch failed", inadmissible=False)
        for p in orders])
    r = runner.invoke(main, ["ablate", "order", "--len", "1M", "--orders", "5"])
    assert r.exit_code == 1 and "order 5: RuntimeError: launch failed" in r.output


def test_ablate_order_without_gpu(runner, monkeypatch):
    monkeypatch.setattr(device, "gpu_available", lambda: False)
    monkeypatch.setattr(ab, "run_orders", lambda *a, **k: pytest.fail("run_orders without a GPU"))
    r = runner.invoke(main, ["ablate", "order", "--len", "64K", "--orders", "3,4,5"])
    assert r.exit_code == 2
    assert r.stderr.strip() == NO_DEVICE
    assert r.stdout == ""


@pytest.mark.parametrize("args,needle", [
    (["--len", "1M", "--orders", "2,x"], "--orders"),
    (["--len", "1M", "--orders", ""], "--orders"),
    (["--len", "1M", "--orders", "2,,3"], "--orders"),
    (["--len", "1M", "--orders", "0,5"], "order 0 is outside 1..8"),
    (["--len", "1M", "--orders", "5,9"], "order 9 is outside 1..8"),
    (["--len", "1M", "--orders", "-1"], "--orders"),
    (["--len", "1M", "--orders", "2,3"], "no order in 2,3 is admitted for L=1,048,576"),
    (["--len", "1M"], "--orders"),
    (["--orders", "5"], "--len"),
    (["--len", "12X", "--orders", "5"], "--len"),
    (["--len", "0", "--orders", "5"], "--len"),
    (["--len", "1.5M", "--orders", "5"], "--len"),
    (["--len", "1024M", "--orders", "5"], "--len"),
    (["--len", "1M", "--orders", "5", "--dtype", "complex64"], "--dtype"),
    (["--len", "1M", "--orders", "5", "--dtype", "float32", "--precision", "fp64"], "--precision"),
    (["--len", "1M", "--orders", "5", "--precision", "tf32"], "--precision"),
    (["--len", "1M", "--orders", "5", "--repeat", "0"], "--repeat"),
    (["--len", "1M", "--orders", "5", "--rows", "0"], "--rows"),
])
def test_ablate_order_usage_errors(runner, fake_gpu, args, needle):
    r = runner.invoke(main, ["ablate", "order", *args])
    assert r.exit_code == 2, r.output
    assert needle in r.output
    assert fake_gpu == []            # nothing measured


def test_ablate_order_duplicate_orders_once(runner, fake_gpu):
    r = runner.invoke(main, ["ablate", "order", "--len", "1M", "--orders", "6, 5,6"])
    assert r.exit_code == 0, r.output
    assert fake_gpu[0]["orders"] == [6, 5]


def test_ablate_plot_needs_matplotlib(runner, fake_gpu, tmp_path):
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        r = runner.invoke(main, ["ablate", "order", "--len", "1M", "--orders", "5",
                                 "--plot", str(tmp_path / "a.png")])
        assert r.exit_code == 2 and "--plot needs matplotlib" in r.output
        assert fake_gpu == []
        return
    png = tmp_path / "a.png"
    r = runner.invoke(main, ["ablate", "order", "--len", "1M", "--orders", "4,5,6",
                             "--plot", str(png)])
    assert r.exit_code == 0, r.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --- ablate sparsity ----------------------------------------------------------------


def _fake_run_sparsity(lengths, patterns, densities, *, rows=None, repeat=20, seed=0, on_step=None,
                       bad=False):
    from fftconv_cupy.bench import sparsity as sb
    out = []
    for L in lengths:
        out.append({"length": L, "rows": 64, "plan": "p", "layout": "fused", "ms": 1.0, "p10": 0.9,
                    "p90": 1.1, "peak_mb": 10.0, "spectrum_mb": 1.0, "pattern": "dense",
                    "density": 1.0, "kept": 1.0, "sparse": None, "speedup": 1.0})
        for p in patterns:
            for d in densities:
                r = {"length": L, "rows": 64, "plan": "p", "layout": "fused", "ms": 0.5 + d,
                     "p10": 0.5, "p90": 2.0, "peak_mb": 10.0, "spectrum_mb": 1.0, "pattern": p,
                     "density": d, "kept": d, "sparse": "4/16" if p == "block" else None,
                     "speedup": 1.0 / (0.5 + d), "oracle_err": 1e-3 if bad else 2e-7}
                for s in sb.SIGNALS:
                    r[f"rel_{s}"], r[f"snr_{s}"] = 0.1, 20.0
                out.append(r)
    return out


def test_ablate_sparsity_no_gpu(runner, monkeypatch):
    monkeypatch.setattr(device, "gpu_available", lambda: False)
    r = runner.invoke(main, ["ablate", "sparsity", "--len", "8K"])
    assert r.exit_code == 2 and NO_DEVICE in r.output


@pytest.mark.parametrize("args,msg", [(["--len", "8K", "--density", "0"], "outside (0, 1]"),
                                      (["--len", "8K", "--patterns", "lowpass"], "not one of"),
                                      (["--len", "eight"], "is not a length"), ([], "--len")])
def test_ablate_sparsity_bad_options(runner, args, msg):
    r = runner.invoke(main, ["ablate", "sparsity", *args])
    assert r.exit_code == 2 and msg in r.output


@pytest.mark.parametrize("bad", [False, True])
def test_ablate_sparsity_table_json_plot(runner, monkeypatch, tmp_path, bad):
    from fftconv_cupy.bench import sparsity as sb
    monkeypatch.setattr(device, "gpu_available", lambda: True)
    monkeypatch.setattr(causal, "device_name", lambda device=0: "Fake GPU")
    monkeypatch.setattr(sb, "run_sparsity", lambda *a, **k: _fake_run_sparsity(*a, **k, bad=bad))
    js, png = tmp_path / "s.json", tmp_path / "s.png"
    try:
        import matplotlib  # noqa: F401
        plot = ["--plot", str(png)]
    except ImportError:
        plot = []
    r = runner.invoke(main, ["ablate", "sparsity", "--len", "8K,1M", "--patterns", "block,random",
                             "--density", "0.25,0.1", "--json", str(js), *plot])
    assert r.exit_code == (1 if bad else 0), r.output
    assert "Fake GPU" in r.output and "4/16" in r.output and "nothing" in r.output
    data = json.loads(js.read_text())
    assert data["config"]["lengths"] == [8192, 1 << 20] and len(data["rows"]) == 2 * 5
    assert data["ok"] is (not bad)
    if plot:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_synthesized_signals():
    from fftconv_cupy.bench import sparsity as sb
    rng = np.random.default_rng(0)
    for kind in sb.SIGNALS:
        x = sb.synth(kind, 4096, 2, rng)
        assert x.shape == (2, 4096) and np.isfinite(x).all()
        assert np.allclose(np.sqrt(np.mean(x ** 2, axis=-1)), 1.0)
    with pytest.raises(ValueError):
        sb.synth("music", 64, 1, rng)


def test_ablate_help_lists_both(runner):
    r = runner.invoke(main, ["ablate", "--help"])
    assert r.exit_code == 0
    assert "order" in r.output and "sparsity" in r.output
    assert "ablate" in runner.invoke(main, ["--help"]).output
