"""``files=``: a ``multipart/form-data`` body laid out as FastHttpUser's (geventhttpclient's) is, so that a server
sees the same upload from either client.

``files`` maps (or lists) field names to a file: its content (bytes or text), an object with ``read()``, or a tuple
``(filename, content)``, ``(filename, content, content_type)``, ``(filename, content, content_type, headers)`` or
``(…, headers, boundary)``. Form fields of ``data`` (a mapping or a list of pairs) come first.
"""

from __future__ import annotations

import binascii
import os
from typing import Any, Iterable, Mapping

__all__ = ["encode"]


def _pairs(value: Mapping[Any, Any] | Iterable[tuple[Any, Any]] | None) -> list[tuple[Any, Any]]:
    if value is None:
        return []
    return list(value.items()) if isinstance(value, Mapping) else list(value)


def _quoted(value: Any) -> str:
    return str(value).replace('"', "%22")


def _part(boundary: bytes, name: str, content: Any, filename: str | None = None, content_type: str | None = None,
          headers: Any = None) -> bytes:
    head = f'Content-Disposition: form-data; name="{_quoted(name)}"'
    if filename is not None:
        head += f'; filename="{_quoted(filename)}"'
    lines = [head]
    if content_type is not None:
        lines.append(f"Content-Type: {content_type}")
    lines.extend(f"{key}: {value}" for key, value in _pairs(headers))
    body = content.encode() if isinstance(content, str) else bytes(content)
    return b"--" + boundary + b"\r\n" + "\r\n".join(lines).encode() + b"\r\n\r\n" + body + b"\r\n"


def _file_name(handle: Any) -> str | None:
    name = getattr(handle, "name", None)
    if isinstance(name, bytes):
        name = name.decode()
    if not isinstance(name, str) or not name or name[0] == "<" or name[-1] == ">":
        return None
    return os.path.basename(name)


def encode(files: Any, data: Any = None) -> tuple[bytes, str]:
    """The body and its ``Content-Type`` for ``files`` beside the form fields of ``data``. Raises ValueError
    for no files, or for ``data`` that is text or bytes (a form cannot hold it)."""
    if not files:
        raise ValueError("Files must be provided.")
    if isinstance(data, (str, bytes)):
        raise ValueError("Data must not be a string.")
    entries = _pairs(files)
    custom = [item[4] for _, item in entries if isinstance(item, (tuple, list)) and len(item) >= 5]
    boundary = (custom[0] if custom else binascii.hexlify(os.urandom(16)).decode("ascii")).encode("ascii")
    parts = []
    for field, values in _pairs(data):
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            values = [values]
        name = field.decode() if isinstance(field, bytes) else field
        parts.extend(_part(boundary, name, value if isinstance(value, bytes) else str(value))
                     for value in values if value is not None)
    for field, item in entries:
        content_type = headers = None
        if isinstance(item, (tuple, list)):
            if len(item) not in (2, 3, 4, 5):
                raise ValueError(f"a file of files= is a 2- to 5-tuple, not {len(item)} items")
            filename, content, content_type, headers = (*item[:4], *[None] * (4 - len(item[:4])))
        else:
            filename, content = _file_name(item) or field, item
        if content is None:
            continue
        if hasattr(content, "read"):
            content = content.read()
        parts.append(_part(boundary, field.decode() if isinstance(field, bytes) else field, content, filename,
                           content_type, headers))
    body = b"".join(parts) + b"--" + boundary + b"--\r\n"
    return body, f"multipart/form-data; boundary={boundary.decode('ascii')}"
