"""Jinja2 rendering of the CUDA templates."""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

from jinja2 import BaseLoader, Environment, FileSystemBytecodeCache, PackageLoader, StrictUndefined

from .cache import _umask

_TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


class _TolerantBytecodeCache(FileSystemBytecodeCache):
    """Compiled templates on disk, where nothing can fail a render: an entry that cannot be
    read is a miss (and is removed when its content is damaged, not when it is merely
    unreadable); one that cannot be written is skipped (templates are then parsed in every
    process).  Entries get the umask's permissions, as the kernel cache's do, so that a
    shared cache directory serves every user."""

    def load_bytecode(self, bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except OSError:              # unreadable (another user's entry, a directory)
            bucket.reset()
        except Exception:            # truncated or corrupt: pickle / marshal errors
            bucket.reset()
            try:
                Path(self._get_cache_filename(bucket)).unlink()
            except OSError:
                pass

    def dump_bytecode(self, bucket) -> None:
        try:
            super().dump_bytecode(bucket)
            os.chmod(self._get_cache_filename(bucket), 0o666 & ~_umask())
        except OSError:
            pass


def make_environment(loader: BaseLoader, bytecode_cache=None) -> Environment:
    """An environment with the settings every template is written against."""
    return Environment(
        loader=loader,
        bytecode_cache=bytecode_cache,
        # A missing parameter must fail at render time, not emit empty C++.
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


@functools.cache
def environment() -> Environment:
    """The package environment, built on first use (template loading is lazy).

    Compiled templates are kept beside the kernel cache (Jinja checks each entry
    against the template's source), so a new process renders without parsing.
    """
    from ..config import get_config
    cfg = get_config()
    cache = None
    if not cfg.disable_cache:
        try:
            path = Path(cfg.cache_dir) / "jinja"
            path.mkdir(parents=True, exist_ok=True)
            cache = _TolerantBytecodeCache(str(path))
        except OSError:  # an unwritable cache dir only costs the parse
            cache = None
    return make_environment(PackageLoader("fftconv_cupy", "templates"), cache)


def render(template_name: str, **params) -> str:
    return environment().get_template(template_name).render(**params)


def templates_dir() -> str:
    return str(_TEMPLATES_DIR)


def include_dir() -> str:
    """Absolute path of the CUDA headers, passed to NVRTC as ``-I``."""
    return str(_TEMPLATES_DIR / "include")


def digest_tree(root: str | Path) -> str:
    """SHA-256 over the relative path and bytes of every file under ``root``.

    Files are visited in sorted order and each path and body is length-prefixed,
    so the digest depends only on the tree's content, not on directory order.
    """
    root = Path(root)
    h = hashlib.sha256()
    files = sorted(
        p for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.relative_to(root).parts
    )
    for path in files:
        rel = path.relative_to(root).as_posix().encode()
        data = path.read_bytes()
        h.update(b"%d:%s\n%d:" % (len(rel), rel, len(data)))
        h.update(data)
        h.update(b"\n")
    return h.hexdigest()


@functools.cache
def template_digest() -> str:
    """Digest of the installed templates; part of every compile key so that
    editing a template or header invalidates cached cubins."""
    return digest_tree(_TEMPLATES_DIR)
