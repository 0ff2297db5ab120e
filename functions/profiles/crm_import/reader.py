"""Streaming reads of real-world exports: gzip or not, UTF-8 with or without BOM,
CSV with any common delimiter and quoting, space-aligned text, or JSON Lines.

Nothing is read whole: lines are decoded and parsed as they stream in.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator
from typing import BinaryIO, NamedTuple

from functions.profiles.crm_import.mapping import ColumnMapping

GZIP_MAGIC = b"\x1f\x8b"
DELIMITERS = ",;\t|"
csv.field_size_limit(1024 * 1024)  # one field may not exceed 1 MB


class UnreadableFile(Exception):
    """The file as a whole cannot be read: a failed import with this reason."""


class RawRow(NamedTuple):
    """One line. A NamedTuple and a lazily joined `raw`: this is built 100k times a second."""

    number: int  # 1-based line number in the file (header = 1)
    values: list[str] | None  # one text per header column; None when the line itself is broken
    fields: list[str]  # the line as split, to show it in the quarantine
    separator: str = ""
    problem: str | None = None

    @property
    def raw(self) -> str:
        return self.separator.join(self.fields)


def text_stream(binary: BinaryIO) -> io.TextIOWrapper:
    buffered = binary if hasattr(binary, "peek") else io.BufferedReader(binary)  # type: ignore[arg-type]
    if buffered.peek(2)[:2] == GZIP_MAGIC:
        buffered = gzip.GzipFile(fileobj=buffered)  # type: ignore[assignment]
    # utf-8-sig drops a BOM if there is one; newline="" lets csv handle quoted newlines.
    return io.TextIOWrapper(buffered, encoding="utf-8-sig", newline="")


def sniff_delimiter(line: str) -> str:
    """The candidate that splits the header line the most (outside quotes)."""
    counts = {d: 0 for d in DELIMITERS}
    quoted = False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(counts, key=counts.get)
    if counts[best]:
        return best
    return "whitespace" if len(line.split()) > 1 else ","


def rows(binary: BinaryIO, mapping: ColumnMapping) -> tuple[list[str], Iterator[RawRow]]:
    """(header, rows). Raises UnreadableFile when there is no usable header."""
    text = text_stream(binary)
    try:
        first = text.readline()
    except (UnicodeDecodeError, OSError, EOFError) as exc:
        raise UnreadableFile(f"not a UTF-8 text, CSV, JSON Lines or gzip file ({exc.__class__.__name__})") from exc
    if not first.strip():
        raise UnreadableFile("the file is empty")
    if first.lstrip().startswith("{"):
        return _json_lines(first, text, mapping)
    delimiter = mapping.delimiter or sniff_delimiter(first)
    if delimiter == "whitespace":
        return _whitespace(first, text, mapping)
    return _csv(first, text, delimiter, mapping)


def _guard(lines: Iterator[RawRow]) -> Iterator[RawRow]:
    try:
        yield from lines
    except (UnicodeDecodeError, OSError, EOFError) as exc:  # e.g. truncated gzip half-way through
        raise UnreadableFile(f"the file breaks off or is not UTF-8 after some rows ({exc.__class__.__name__})") from exc


def _csv(first: str, text: io.TextIOBase, delimiter: str, mapping: ColumnMapping) -> tuple[list[str], Iterator[RawRow]]:
    header_given = mapping.header is not None
    header = list(mapping.header) if header_given else next(csv.reader([first], delimiter=delimiter))
    header = [h.strip() for h in header]
    if len(set(header)) != len(header):
        raise UnreadableFile("the header names a column twice")

    def lines() -> Iterator[RawRow]:
        number = 1
        source = ([first] if header_given else [])
        reader = csv.reader(_chain(source, text), delimiter=delimiter)
        width = len(header)
        for number, fields in enumerate(reader, start=1 if header_given else 2):
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue  # blank line
            if len(fields) != width:
                yield RawRow(number, None, fields, delimiter, f"expected {width} fields, found {len(fields)}")
                continue
            yield RawRow(number, fields, fields, delimiter)

    return header, _guard(lines())


def _whitespace(first: str, text: io.TextIOBase, mapping: ColumnMapping) -> tuple[list[str], Iterator[RawRow]]:
    header_given = mapping.header is not None
    header = list(mapping.header) if header_given else first.split()

    def lines() -> Iterator[RawRow]:
        width = len(header)
        for number, line in enumerate(_chain([first] if header_given else [], text), start=1 if header_given else 2):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != width:
                yield RawRow(number, None, fields, " ", f"expected {width} fields, found {len(fields)}")
                continue
            yield RawRow(number, fields, fields, " ")

    return header, _guard(lines())


def _json_lines(first: str, text: io.TextIOBase, mapping: ColumnMapping) -> tuple[list[str], Iterator[RawRow]]:
    try:
        probe = json.loads(first)
    except json.JSONDecodeError as exc:
        raise UnreadableFile(f"the first line is not JSON ({exc.msg})") from exc
    header = list(mapping.header or probe.keys())

    def lines() -> Iterator[RawRow]:
        for number, line in enumerate(_chain([first], text), start=1):
            if not line.strip():
                continue
            raw = [line.rstrip("\r\n")]
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                yield RawRow(number, None, raw, "", f"not JSON ({exc.msg})")
                continue
            if not isinstance(value, dict):
                yield RawRow(number, None, raw, "", "a line must be a JSON object")
                continue
            yield RawRow(number, [_text(value.get(column)) for column in header], raw)

    return header, _guard(lines())


def _text(value: object) -> str:
    """JSON values as the text a CSV export would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_text(v) for v in value)
    return str(value)


def _chain(first: list[str], rest: io.TextIOBase) -> Iterator[str]:
    yield from first
    yield from rest
