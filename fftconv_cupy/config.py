"""Environment knobs.

Every knob is read from ``os.environ`` each time :func:`get_config` is called:
reading a handful of variables costs microseconds, and not caching lets tests
(and long-lived processes) change the environment and see the effect at once.

Values are parsed strictly: a typo such as ``FFTCONV_CUPY_SYNC=ture`` raises a
``ValueError`` naming the variable instead of being silently read as false.
An empty value counts as unset.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

CACHE_DIR = "FFTCONV_CUPY_CACHE_DIR"
DISABLE_CACHE = "FFTCONV_CUPY_DISABLE_CACHE"
FORCE_COMPILE = "FFTCONV_CUPY_FORCE_COMPILE"
DUMP_DIR = "FFTCONV_CUPY_DUMP_DIR"
SYNC = "FFTCONV_CUPY_SYNC"

_TRUE = frozenset({"1", "true", "yes"})
_FALSE = frozenset({"0", "false", "no"})


@dataclass(frozen=True)
class Config:
    cache_dir: Path
    """Where compiled cubins are kept between processes."""
    disable_cache: bool = False
    """Neither read nor write the disk cache."""
    force_compile: bool = False
    """Ignore the disk and in-process caches and compile again (fresh results are still stored)."""
    dump_dir: Path | None = None
    """If set, every rendered source is written there as ``<key>.cu``."""
    sync: bool = False
    """Synchronize after each launch so that asynchronous faults name the kernel that caused them."""


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def parse_bool(env: Mapping[str, str], name: str, default: bool = False) -> bool:
    value = _get(env, name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"{name}={value!r} is not a boolean; use one of 0/1/true/false/yes/no")


def parse_path(env: Mapping[str, str], name: str) -> Path | None:
    value = _get(env, name)
    if value is None:
        return None
    if "\x00" in value:
        raise ValueError(f"{name} contains a NUL byte")
    # absolute: a relative directory would move with the working directory
    return Path(value).expanduser().absolute()


def default_cache_dir(env: Mapping[str, str]) -> Path:
    # The XDG spec says relative values of XDG_CACHE_HOME are invalid and must be ignored.
    xdg = _get(env, "XDG_CACHE_HOME")
    if xdg is not None and os.path.isabs(xdg):
        return Path(xdg) / "fftconv_cupy"
    return Path.home() / ".cache" / "fftconv_cupy"


def sync_enabled(env: Mapping[str, str] | None = None) -> bool:
    """FFTCONV_CUPY_SYNC alone: read on every launch, where get_config's path resolution
    (~20 us) would be a measurable part of a small convolution."""
    return parse_bool(os.environ if env is None else env, SYNC)


def get_config(env: Mapping[str, str] | None = None) -> Config:
    """Parse the knobs from ``env`` (``os.environ`` by default)."""
    if env is None:
        env = os.environ
    return Config(
        cache_dir=parse_path(env, CACHE_DIR) or default_cache_dir(env),
        disable_cache=parse_bool(env, DISABLE_CACHE),
        force_compile=parse_bool(env, FORCE_COMPILE),
        dump_dir=parse_path(env, DUMP_DIR),
        sync=parse_bool(env, SYNC),
    )
