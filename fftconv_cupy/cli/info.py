"""fftconv-cli info: versions, device, cache, support table."""
from __future__ import annotations

import click

from ._common import config_or_usage_error, console, cuda_version, echo_json, fmt_bytes


def gpu_info() -> dict | None:
    """Name and limits of device 0, or None when there is no usable CUDA device."""
    from ..runtime import device
    if not device.gpu_available():
        return None
    try:
        import cupy
        props = cupy.cuda.runtime.getDeviceProperties(0)
        name = props["name"]
        return {
            "name": name.decode() if isinstance(name, bytes) else str(name),
            "compute_capability": f"{props['major']}.{props['minor']}",
            "sm_count": int(props["multiProcessorCount"]),
            "smem_per_block_optin": int(props["sharedMemPerBlockOptin"]),
            "l2_bytes": int(props["l2CacheSize"]),
            "memory_bytes": int(props["totalGlobalMem"]),
            "device_count": int(cupy.cuda.runtime.getDeviceCount()),
        }
    except Exception:
        return None


def _cuda_versions() -> dict:
    out = {"driver": None, "runtime": None}
    try:
        import cupy
    except Exception:
        return out
    for key, fn in (("driver", "driverGetVersion"), ("runtime", "runtimeGetVersion")):
        try:
            out[key] = cuda_version(getattr(cupy.cuda.runtime, fn)())
        except Exception:
            pass
    return out


def _cupy_version() -> str | None:
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:  # pragma: no cover
        return None
    try:
        import cupy
        return cupy.__version__
    except Exception:
        pass
    for dist in ("cupy-cuda13x", "cupy-cuda12x", "cupy"):
        try:
            return version(dist)
        except PackageNotFoundError:
            continue
    return None


def cache_info() -> dict:
    from ..codegen.cache import DiskCache
    cfg = config_or_usage_error()
    entries = DiskCache(cfg.cache_dir).entries()
    return {"dir": str(cfg.cache_dir), "entries": len(entries),
            "bytes": sum(size for _, size, _ in entries), "disabled": cfg.disable_cache}


def collect() -> dict:
    from .. import __version__
    from ..codegen.nvrtc import nvrtc_version
    from ..plan.support import support_summary
    nv = nvrtc_version()
    return {
        "version": __version__,
        "gpu": gpu_info(),
        "cuda": _cuda_versions(),
        "nvrtc": f"{nv[0]}.{nv[1]}" if nv else None,
        "cupy": _cupy_version(),
        "cache": cache_info(),
        "support": support_summary(),
    }


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the information as JSON.")
def info(as_json):
    """Versions, the CUDA device, the kernel cache and the support table."""
    data = collect()
    if as_json:
        echo_json(data)
        return
    from rich.table import Table
    out = console()
    env = Table(title=f"fftconv-cupy {data['version']}", show_header=False, title_justify="left")
    env.add_column(style="bold")
    env.add_column()
    g = data["gpu"]
    if g is None:
        env.add_row("GPU", "no CUDA device found")
    else:
        env.add_row("GPU", f"{g['name']} (sm_{g['compute_capability'].replace('.', '')}"
                           + (f", {g['device_count']} devices" if g["device_count"] > 1 else "") + ")")
        env.add_row("SMs", str(g["sm_count"]))
        env.add_row("shared memory / block (opt-in)", fmt_bytes(g["smem_per_block_optin"]))
        env.add_row("L2 cache", fmt_bytes(g["l2_bytes"]))
        env.add_row("device memory", fmt_bytes(g["memory_bytes"]))
    na = "n/a"
    env.add_row("CUDA driver", data["cuda"]["driver"] or "none found")
    env.add_row("CUDA runtime", data["cuda"]["runtime"] or na)
    env.add_row("NVRTC", data["nvrtc"] or "not loadable (install nvidia-cuda-nvrtc)")
    env.add_row("CuPy", data["cupy"] or "not installed")
    c = data["cache"]
    env.add_row("kernel cache", f"{c['dir']}\n{c['entries']} entries, {fmt_bytes(c['bytes'])}"
                + (" (disabled by FFTCONV_CUPY_DISABLE_CACHE)" if c["disabled"] else ""))
    out.print(env)

    s = data["support"]
    prec = Table(title="support", title_justify="left")
    prec.add_column("precision", style="bold")
    prec.add_column("unit")
    prec.add_column("io (real, complex)")
    prec.add_column("rtol", justify="right")
    for name, p in s["precisions"].items():
        prec.add_row(name, p["unit"], ", ".join(p["io"]), f"{p['rtol']:.0e}")
    for name in s["planned_precisions"]:
        prec.add_row(name, "[dim]planned[/dim]", "", "")
    out.print(prec)
    rest = Table(show_header=False)
    rest.add_column(style="bold")
    rest.add_column()
    rest.add_row("radices", ", ".join(map(str, s["radices"])))
    mt = s["max_transform"]
    rest.add_row("max transform", f"{mt:,} complex points (2**{mt.bit_length() - 1})"
                 if mt & (mt - 1) == 0 else f"{mt:,} complex points")
    rest.add_row("modes", ", ".join(s["modes"]) + " (CLI also: causal)")
    rest.add_row("orders", ", ".join(map(str, s["orders"])))
    rp = s["row_pairs"]
    sizes = ", ".join(map(str, rp["sizes"]))
    segs = max(rp["segments"])
    rest.add_row("row pairs", f"{'/'.join(rp['io'])} rows in an even batch, {rp['unit']}: "
                 f"circular rows of {sizes} (FFTConv); causal rows of L > n/4 with L + K - 1 <= n, "
                 f"n in {sizes}, and L > n/{4 * segs} as S <= {segs} rows per part of a "
                 f"transform (a batch of a multiple of 2S), gates fused (causal_conv, FFTConv)")
    out.print(rest)
