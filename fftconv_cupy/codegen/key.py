"""Content-addressed keys for compiled kernels."""

from __future__ import annotations

import hashlib
from typing import Iterable

from fftconv_cupy._version import __version__
from fftconv_cupy.codegen.render import template_digest


def cache_key(**fields) -> str:
    """SHA-256 hex over labeled fields.

    Fields are sorted by label and each is written as ``label=<len>:<value>\\n``
    (length in bytes), so no two different field sets hash the same bytes:
    ``a="x\\nb=1"`` cannot be confused with ``a="x", b="1"``.
    """
    h = hashlib.sha256()
    for label in sorted(fields):
        value = fields[label]
        data = value if isinstance(value, bytes) else str(value).encode()
        h.update(b"%s=%d:" % (label.encode(), len(data)))
        h.update(data)
        h.update(b"\n")
    return h.hexdigest()


def compile_key(source: str, options: Iterable[str], arch: str) -> str:
    """Key of a compiled cubin: everything that can change the binary."""
    # Imported here so that this module stays importable without CuPy.
    from fftconv_cupy.codegen.nvrtc import nvrtc_version

    version = nvrtc_version()
    return cache_key(
        package=__version__,
        templates=template_digest(),
        source=source,
        # Sorted, so the order options are given in does not split the cache; options whose
        # order matters (one macro or one flag given twice) are refused by effective_options.
        options="\x00".join(sorted(options)),
        arch=arch,
        nvrtc="unavailable" if version is None else ".".join(map(str, version)),
    )
