"""On-disk cache of compiled cubins.

Entries are ``<key>.cubin`` files holding a header (magic, SHA-256 of the
payload, payload length) and the payload. Reads verify the checksum so a torn
or corrupted entry is a miss, never a crash; writes go to a private temp file
that is fsynced and atomically renamed, so concurrent writers of one key from
several processes each publish a whole file and the last rename wins.
The cache is an optimisation only: failing to write it never fails a compile.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import stat
import struct
import tempfile
import warnings
from pathlib import Path

MAGIC = b"FFTCUBN1"
_HEADER = struct.Struct(f"<{len(MAGIC)}s32sQ")  # magic, sha256(payload), len(payload)
_SUFFIX = ".cubin"
_TMP_SUFFIX = ".tmp"
# Keys become file names: restrict them so a key can never escape the directory.
_KEY_RE = re.compile(r"[0-9A-Za-z_-]{1,128}")


def _check_key(key: str) -> str:
    if not _KEY_RE.fullmatch(key):
        raise ValueError(f"invalid cache key {key!r}")
    return key


def encode_entry(data: bytes) -> bytes:
    return _HEADER.pack(MAGIC, hashlib.sha256(data).digest(), len(data)) + data


def decode_entry(blob: bytes) -> bytes | None:
    """The payload of a stored entry, or None if it is not a valid entry."""
    if len(blob) < _HEADER.size:
        return None
    magic, digest, length = _HEADER.unpack_from(blob)
    payload = blob[_HEADER.size:]
    if magic != MAGIC or length != len(payload) or hashlib.sha256(payload).digest() != digest:
        return None
    return payload


@functools.cache
def _umask() -> int:
    """The process's umask, read without changing it where /proc tells it (os.umask would
    set it for a moment under other threads' feet)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_WARNED: set = set()


def _warn_unwritable(path: Path, exc: OSError) -> None:
    if path in _WARNED:
        return
    _WARNED.add(path)
    warnings.warn(f"cannot write the kernel cache in {path} ({exc}); kernels are compiled in "
                  "every process (set FFTCONV_CUPY_CACHE_DIR to a writable directory)",
                  RuntimeWarning, stacklevel=4)


class DiskCache:
    def __init__(self, directory: str | os.PathLike):
        self.path = Path(directory)

    def _entry(self, key: str) -> Path:
        return self.path / (_check_key(key) + _SUFFIX)

    def get(self, key: str) -> bytes | None:
        path = self._entry(key)
        try:
            blob = path.read_bytes()
        except OSError:
            # missing, unreadable or a transient error: a miss; the entry may be another
            # user's good one, so it is left in place
            return None
        payload = decode_entry(blob)
        if payload is None:
            self._discard(path)
        return payload

    def put(self, key: str, data: bytes) -> None:
        final = self._entry(key)
        tmp = None
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path, prefix=f".{key}.", suffix=_TMP_SUFFIX)
            with os.fdopen(fd, "wb") as f:
                f.write(encode_entry(bytes(data)))
                f.flush()
                os.fsync(f.fileno())
            # mkstemp makes the file private (0600): give entries the umask's permissions,
            # so that a shared cache directory is readable by the users who share it
            os.chmod(tmp, 0o666 & ~_umask())
            os.replace(tmp, final)
            tmp = None
        except OSError as exc:
            # read-only or full disk: the kernel still works, it just is not cached; said
            # once per directory, or every process would recompile without a word
            _warn_unwritable(self.path, exc)
        finally:
            if tmp is not None:
                self._discard(Path(tmp))

    def entries(self) -> list[tuple[str, int, float]]:
        """``(key, size in bytes, mtime)`` of each entry, sorted by key."""
        out = []
        try:
            paths = list(self.path.glob("*" + _SUFFIX))
        except OSError:
            return out
        for p in paths:
            try:
                st = p.stat()
            except OSError:  # Removed by another process meanwhile.
                continue
            if not stat.S_ISREG(st.st_mode):   # a directory of that name is not an entry
                continue
            out.append((p.name[: -len(_SUFFIX)], st.st_size, st.st_mtime))
        out.sort()
        return out

    def size_bytes(self) -> int:
        return sum(size for _, size, _ in self.entries())

    def clear(self) -> int:
        """Remove every entry (and stray temp files); returns the number of entries removed."""
        removed = 0
        for key, _, _ in self.entries():
            if self._discard(self.path / (key + _SUFFIX)):
                removed += 1
        try:
            for p in self.path.glob(".*" + _TMP_SUFFIX):
                self._discard(p)
            for p in (self.path / "jinja").glob("__jinja2_*.cache"):   # compiled templates
                self._discard(p)
        except OSError:
            pass
        return removed

    @staticmethod
    def _discard(path: Path) -> bool:
        try:
            path.unlink()
            return True
        except OSError:
            return False

    def __repr__(self) -> str:
        return f"DiskCache({str(self.path)!r})"
