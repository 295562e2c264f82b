"""Streaming readers: a stored upload -> (line number, parsed row | RowError), in constant memory.

Three formats (JSONL, a JSON array, CSV), each optionally gzip-compressed. Problems that spoil
the whole file (not UTF-8, binary, truncated gzip, a decompression bomb, a JSON array that
breaks off) raise FatalImportError with the line they were found at; a problem confined to one
row is yielded as a RowError so that the import can count it and go on.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import orjson

GZIP_MAGIC = b"\x1f\x8b"
# Reading the stored file in 1 MiB blocks: one block of text in memory per reader.
READ_BLOCK = 1 << 20


class FatalImportError(Exception):
    def __init__(self, line: int | None, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass(frozen=True, slots=True)
class RowError:
    message: str


class ProgressReader(io.RawIOBase):
    """Counts the bytes of the stored (possibly compressed) file read so far."""

    def __init__(self, raw, on_progress: Callable[[int], None] | None):
        self.raw = raw
        self.bytes_read = 0
        self.on_progress = on_progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self.raw.readinto(buffer)
        self.bytes_read += n or 0
        if self.on_progress:
            self.on_progress(self.bytes_read)
        return n


class LimitedReader(io.RawIOBase):
    """Stops a decompression bomb: refuses to hand out more than `limit` bytes of content."""

    def __init__(self, raw, limit: int):
        self.raw = raw
        self.limit = limit
        self.total = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            n = self.raw.readinto(buffer)
        except EOFError as exc:
            raise FatalImportError(
                None, "The gzip file is truncated: it ends before its end-of-stream marker."
            ) from exc
        except (OSError, zlib.error) as exc:
            raise FatalImportError(None, f"The gzip data is corrupt ({exc}).") from exc
        self.total += n or 0
        if self.total > self.limit:
            raise FatalImportError(
                None,
                f"The decompressed data exceeds the limit of {self.limit:,} bytes "
                "(a decompression bomb, or a file to split).",
            )
        return n


def open_content(path, *, max_bytes: int, on_progress=None) -> tuple[io.BufferedReader, bool]:
    """The file's content as a buffered binary stream, gunzipped when it is gzip (by its magic
    bytes, whatever its name says). Returns (stream, was_compressed)."""
    raw = open(path, "rb")  # noqa: SIM115 - closed by the caller through the returned stream
    head = raw.read(2)
    raw.seek(0)
    counted = ProgressReader(raw, on_progress)
    if head == GZIP_MAGIC:
        unzipped = gzip.GzipFile(fileobj=io.BufferedReader(counted, READ_BLOCK), mode="rb")
        return io.BufferedReader(LimitedReader(unzipped, max_bytes), READ_BLOCK), True
    return io.BufferedReader(LimitedReader(counted, max_bytes), READ_BLOCK), False


def check_text_start(stream: io.BufferedReader) -> None:
    """Refuse UTF-16/32 and binary files up front, with a message that says what to do."""
    head = stream.peek(4096)[:4096]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise FatalImportError(1, "The file is UTF-16 encoded; save it as UTF-8 and upload again.")
    if b"\x00" in head:
        raise FatalImportError(
            1, "This is not a text file (it contains NUL bytes): upload JSONL, JSON or CSV text."
        )


def _encoding_error(line: int, exc: UnicodeDecodeError) -> FatalImportError:
    bad = exc.object[exc.start : exc.start + 1].hex()
    return FatalImportError(
        line,
        f"Line {line} is not valid UTF-8 (byte 0x{bad} at position {exc.start + 1}); "
        "save the file as UTF-8 and upload again.",
    )


def _skip_bom(stream: io.BufferedReader) -> None:
    if stream.peek(3)[:3] == codecs.BOM_UTF8:
        stream.read(3)


# --- JSONL --------------------------------------------------------------------------------


def read_jsonl(stream: io.BufferedReader, *, max_row_bytes: int) -> Iterator[tuple[int, object]]:
    check_text_start(stream)
    _skip_bom(stream)
    line_no = 0
    while True:
        line = stream.readline(max_row_bytes + 1)
        if not line:
            return
        line_no += 1
        if len(line) > max_row_bytes and not line.endswith(b"\n"):
            # Oversized: skip the rest of the physical line without holding it in memory.
            while True:
                rest = stream.readline(READ_BLOCK)
                if not rest or rest.endswith(b"\n"):
                    break
            yield line_no, RowError(f"The row is larger than the limit of {max_row_bytes:,} bytes.")
            continue
        if not line.strip():
            continue
        try:
            yield line_no, orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as decode_error:
                raise _encoding_error(line_no, decode_error) from None
            yield line_no, RowError(f"Malformed JSON: {exc}.")


# --- JSON array ---------------------------------------------------------------------------

_WS = " \t\n\r"


class _TextBuffer:
    """A sliding window of decoded text over the stream, with the line number of its start."""

    def __init__(self, stream: io.BufferedReader):
        self.stream = stream
        self.decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self.text = ""
        self.pos = 0
        self.line = 1  # line number at self.pos
        self.eof = False

    def more(self) -> bool:
        if self.eof:
            return False
        block = self.stream.read(READ_BLOCK)
        try:
            chunk = self.decoder.decode(block, final=not block)
        except UnicodeDecodeError as exc:
            raise _encoding_error(self.line + self.text.count("\n", self.pos), exc) from None
        if not block:
            self.eof = True
        # Drop what was consumed, so memory stays at about one block plus one row.
        self.text = self.text[self.pos :] + chunk
        self.pos = 0
        return bool(block)

    def advance(self, to: int) -> None:
        self.line += self.text.count("\n", self.pos, to)
        self.pos = to

    def skip_ws(self) -> str | None:
        """Next non-blank character (not consumed), or None at the end of the file."""
        while True:
            while self.pos < len(self.text) and self.text[self.pos] in _WS:
                self.advance(self.pos + 1)
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self.more():
                return None


def read_json_array(
    stream: io.BufferedReader, *, max_row_bytes: int
) -> Iterator[tuple[int, object]]:
    """Rows of a JSON array, decoded one element at a time with the C scanner."""
    check_text_start(stream)
    _skip_bom(stream)
    buf = _TextBuffer(stream)
    decoder = json.JSONDecoder()
    first = buf.skip_ws()
    if first is None:
        return
    if first != "[":
        raise FatalImportError(
            buf.line,
            "A .json file must hold one JSON array of rows ([{...}, {...}]); "
            "for one row per line, name it .jsonl.",
        )
    buf.advance(buf.pos + 1)
    state = "open"  # "open": after '[', "comma": after ',', "row": after a row
    while True:
        char = buf.skip_ws()
        if char is None:
            raise FatalImportError(buf.line, "The JSON array is not closed: the file ends early.")
        if char == "]" and state != "comma":
            buf.advance(buf.pos + 1)
            if buf.skip_ws() is not None:
                raise FatalImportError(buf.line, "Unexpected data after the end of the JSON array.")
            return
        if state == "row":
            if char != ",":
                raise FatalImportError(
                    buf.line, f"Malformed JSON at line {buf.line}: expected ',' or ']' after a row."
                )
            buf.advance(buf.pos + 1)
            state = "comma"
            continue
        if char == "]":
            raise FatalImportError(
                buf.line, f"Malformed JSON at line {buf.line}: a trailing comma."
            )
        row_line = buf.line
        while True:
            try:
                value, end = decoder.raw_decode(buf.text, buf.pos)
                break
            except json.JSONDecodeError as exc:
                if len(buf.text) - buf.pos > max_row_bytes:
                    raise FatalImportError(
                        row_line,
                        f"The row starting at line {row_line} is larger than the limit of "
                        f"{max_row_bytes:,} bytes (or its JSON never closes).",
                    ) from None
                if not buf.more():
                    line = row_line + buf.text.count("\n", buf.pos, exc.pos)
                    raise FatalImportError(
                        line, f"Malformed JSON at line {line}: {exc.msg}."
                    ) from None
        # A row of n characters has at most 4n bytes: only long rows need their bytes counted.
        too_big = end - buf.pos > max_row_bytes // 4 and (
            len(buf.text[buf.pos : end].encode("utf-8")) > max_row_bytes
        )
        buf.advance(end)
        state = "row"
        if too_big:
            yield (
                row_line,
                RowError(f"The row is larger than the limit of {max_row_bytes:,} bytes."),
            )
        else:
            yield row_line, value


# --- CSV ----------------------------------------------------------------------------------


def read_csv(stream: io.BufferedReader, *, max_row_bytes: int) -> Iterator[tuple[int, object]]:
    """Rows of a CSV file with a header. Cells stay strings: nothing is evaluated, so a cell
    that starts with '=' is stored as the text it is."""
    check_text_start(stream)
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict", newline="")
    csv.field_size_limit(max_row_bytes)
    reader = csv.reader(text)
    try:
        try:
            header = next(reader)
        except StopIteration:
            return
        names = [name.strip() for name in header]
        if any(not name for name in names):
            raise FatalImportError(1, "The CSV header has an empty column name.")
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise FatalImportError(1, f"The CSV header repeats the column(s) {duplicates}.")
        reserved = [n for n in names if n.startswith("lqa.") and n not in EXPORT_COLUMNS]
        if reserved:
            raise FatalImportError(
                1,
                f"The CSV header has {reserved[0]!r}: columns starting with 'lqa.' are reserved "
                f"for this platform's exports ({', '.join(sorted(EXPORT_COLUMNS))}).",
            )
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise FatalImportError(reader.line_num, f"Line {reader.line_num}: {exc}.") from None
            line = reader.line_num
            if not cells or cells == [""]:
                continue
            if len(cells) != len(names):
                yield (
                    line,
                    RowError(f"The row has {len(cells)} cells; the header has {len(names)}."),
                )
                continue
            if sum(len(cell) for cell in cells) > max_row_bytes:
                yield (
                    line,
                    RowError(f"The row is larger than the limit of {max_row_bytes:,} bytes."),
                )
                continue
            yield line, _csv_row(dict(zip(names, cells, strict=True)))
    except UnicodeDecodeError as exc:
        raise _encoding_error(reader.line_num + 1, exc) from None


# Columns of this platform's CSV exports (all start with "lqa."): the final label and its
# confidence, the pre-label, the annotations (JSON) and two informational ones. A CSV export
# imported elsewhere brings its labels along; any other "lqa." column is refused.
EXPORT_COLUMNS = frozenset(
    {
        "lqa.label",
        "lqa.confidence",
        "lqa.agreement",
        "lqa.status",
        "lqa.annotations",
        "lqa.prelabel",
        "lqa.prelabel_confidence",
    }
)


def _number(text: str):
    try:
        return float(text)
    except ValueError:
        return text  # the validator names the field and the value


def _csv_row(record: dict[str, str]) -> dict:
    row: dict = {}
    if "id" in record:
        row["id"] = record.pop("id")
    if "gold" in record:
        gold = record.pop("gold")
        if gold != "":
            row["gold"] = gold
    if "lqa.label" in record:
        ours = {name[4:]: record.pop(name) for name in EXPORT_COLUMNS if name in record}
        if ours.get("label"):
            row["label"] = ours["label"]
            if ours.get("confidence"):
                row["confidence"] = _number(ours["confidence"])
        if ours.get("annotations"):
            try:
                row["annotations"] = orjson.loads(ours["annotations"])
            except orjson.JSONDecodeError:
                row["annotations"] = ours["annotations"]
        if ours.get("prelabel"):
            row["prelabel"] = {"label": ours["prelabel"]}
            if ours.get("prelabel_confidence"):
                row["prelabel"]["confidence"] = _number(ours["prelabel_confidence"])
    row["data"] = record
    return row


READERS = {"jsonl": read_jsonl, "json": read_json_array, "csv": read_csv}
