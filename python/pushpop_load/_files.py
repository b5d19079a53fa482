"""Result files written as the Rust side writes them: to a hidden temporary name beside the file, renamed into place,
so that a reader never sees half a file under the real name, and a failed write leaves nothing behind."""

from __future__ import annotations

import contextlib as _contextlib
import os as _os
from typing import IO, Callable


def write_atomically(path: str, write: Callable[[IO[str]], None], newline: str | None = None) -> None:
    """Calls ``write`` with a text file that becomes ``path`` once it returns; on any failure the temporary file is
    removed and the error propagates."""
    directory, name = _os.path.split(path)
    temporary = _os.path.join(directory, f".{name}.tmp-{_os.getpid()}")
    try:
        with open(temporary, "w", encoding="utf-8", newline=newline) as out:
            write(out)
        _os.replace(temporary, path)
    except BaseException:
        with _contextlib.suppress(OSError):
            _os.remove(temporary)
        raise
