"""fftconv-cli cache path|ls|clear: the on-disk cubin cache."""
from __future__ import annotations

import datetime

import click

from ._common import config_or_usage_error, console, echo_json, fmt_bytes


def _cache():
    from ..codegen.cache import DiskCache
    cfg = config_or_usage_error()
    return DiskCache(cfg.cache_dir), cfg


@click.group()
def cache():
    """The compiled-kernel cache (FFTCONV_CUPY_CACHE_DIR)."""


@cache.command("path")
def cache_path():
    """Print the cache directory."""
    c, _ = _cache()
    click.echo(str(c.path))


@cache.command("ls")
@click.option("--json", "as_json", is_flag=True, help="Print the entries as JSON.")
def cache_ls(as_json):
    """List cached cubins: key, size, modification time."""
    c, cfg = _cache()
    entries = c.entries()
    total = sum(size for _, size, _ in entries)
    if as_json:
        echo_json({"dir": str(c.path), "disabled": cfg.disable_cache, "bytes": total,
                   "entries": [{"key": k, "bytes": s, "mtime": t} for k, s, t in entries]})
        return
    out = console()
    note = " (disabled by FFTCONV_CUPY_DISABLE_CACHE)" if cfg.disable_cache else ""
    if not entries:
        out.print(f"{c.path}: empty{note}")
        return
    from rich.table import Table
    t = Table(title=f"{c.path}{note}", title_justify="left")
    t.add_column("key")
    t.add_column("size", justify="right")
    t.add_column("modified")
    for key, size, mtime in entries:
        t.add_row(key, fmt_bytes(size),
                  datetime.datetime.fromtimestamp(mtime).strftime("%Y-%m-%d %H:%M:%S"))
    out.print(t)
    out.print(f"{len(entries)} entries, {fmt_bytes(total)}")


@cache.command("clear")
def cache_clear():
    """Remove every cached cubin."""
    c, _ = _cache()
    n = c.clear()
    click.echo(f"removed {n} entr{'y' if n == 1 else 'ies'} from {c.path}")
