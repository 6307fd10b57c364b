"""Character-encoding detection and transcoding for source CSV files.

Businesses export from Excel and Chinese ERP/POS systems, so a file is UTF-8, UTF-8 with a BOM
or GBK/GB2312 (read as GB18030, their superset). DuckDB's CSV reader only takes UTF-8 here (the
`encodings` extension cannot be installed), so GB18030 files are transcoded to a temporary UTF-8
copy first. Everything streams in 1 MiB chunks so a multi-gigabyte export needs little memory.
"""

from __future__ import annotations

import codecs
import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Literal

Encoding = Literal["utf-8", "utf-8-sig", "gb18030"]

CHUNK_SIZE = 1 << 20  # 1 MiB
UTF8_BOM = codecs.BOM_UTF8
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


class SourceError(Exception):
    """A source file that cannot be used as given: bad usage or unreadable input.

    The CLI exits with status 2 and prints str(err), so the message names the file and, where
    known, the row and column. Defined here, the lowest layer; `ingest.loader` re-exports it.
    """


def open_source_bytes(path: Path) -> BinaryIO:
    """The file's content as bytes: a `.gz` file (`day.csv.gz`) decompressed as it streams."""
    if Path(path).name.strip().lower().endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return Path(path).open("rb")


def _chunks(f: BinaryIO) -> Iterator[bytes]:
    while chunk := f.read(CHUNK_SIZE):
        yield chunk


# GBK text that happens to be valid UTF-8 for a character or so is chance; this many UTF-8
# characters before the first non-UTF-8 byte are a UTF-8 file with a foreign part.
_MIXED_AFTER_CHARACTERS = 2


def _utf8_characters_before(path: Path, end: int) -> int:
    """How many non-ASCII UTF-8 characters (lead bytes) the first `end` bytes hold."""
    count, remaining = 0, end
    with open_source_bytes(path) as f:
        while remaining > 0:
            chunk = f.read(min(CHUNK_SIZE, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            if not chunk.isascii():
                count += sum(1 for byte in chunk if byte >= 0xC2)
    return count


def _first_invalid_offset(path: Path, encoding: str, start: int = 0) -> int | None:
    """Byte offset of the first byte that does not decode as `encoding`, or None if all do.

    An incremental decoder carries a multi-byte character split across two chunks over to the
    next chunk, so a chunk boundary never causes a false alarm.
    """
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    offset = start  # file offset of the first byte of the next chunk
    with open_source_bytes(path) as f:
        f.seek(start)
        for chunk in _chunks(f):
            pending = len(decoder.getstate()[0])  # bytes held back from the previous chunk
            if not pending and chunk.isascii():
                offset += len(chunk)  # ASCII is valid in both encodings; skip the decode
                continue
            try:
                decoder.decode(chunk, final=False)
            except UnicodeDecodeError as err:
                return offset - pending + err.start
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as err:
            pending = len(err.object)
            return offset - pending + err.start
    return None


def _nul_offset(path: Path) -> int | None:
    """Offset of the first NUL byte: text exports never have one, binary files and UTF-16 do."""
    offset = 0
    with open_source_bytes(path) as f:
        for chunk in _chunks(f):
            if (i := chunk.find(b"\x00")) >= 0:
                return offset + i
            offset += len(chunk)
    return None


def detect_encoding(path: Path) -> Encoding:
    """Return the encoding `path` decodes with: "utf-8-sig", "utf-8" or "gb18030".

    Raises SourceError naming the file and the byte offset when it is none of them.
    """
    path = Path(path)
    with open_source_bytes(path) as f:
        head = f.read(len(UTF8_BOM))
    if head.startswith(_UTF16_BOMS):
        raise SourceError(f"{path}: the file is UTF-16; save it as UTF-8 (or GBK) CSV")
    if (nul := _nul_offset(path)) is not None:
        raise SourceError(f"{path}: not a text file (NUL byte at byte offset {nul})")

    if head == UTF8_BOM:
        bad = _first_invalid_offset(path, "utf-8", start=len(UTF8_BOM))
        if bad is not None:
            raise SourceError(
                f"{path}: starts with a UTF-8 byte-order mark but has invalid UTF-8 at byte "
                f"offset {bad}"
            )
        return "utf-8-sig"

    first_bad = _first_invalid_offset(path, "utf-8")
    if first_bad is None:
        return "utf-8"
    if _utf8_characters_before(path, first_bad) >= _MIXED_AFTER_CHARACTERS:
        # Decoding the whole file as GB18030 would turn the UTF-8 part into mojibake silently.
        raise SourceError(
            f"{path}: mixes encodings: valid UTF-8 text (with non-ASCII characters) up to byte "
            f"offset {first_bad}, then bytes that are not UTF-8; save the whole file in one "
            "encoding (UTF-8)"
        )
    bad = _first_invalid_offset(path, "gb18030")
    if bad is not None:
        raise SourceError(
            f"{path}: not valid UTF-8 (byte offset {first_bad}) nor GB18030/GBK "
            f"(byte offset {bad}); save it as UTF-8 CSV"
        )
    return "gb18030"


def transcode_to_utf8(
    path: Path, encoding: str, dest_dir: Path, *, unify_newlines: bool = False
) -> Path:
    """Stream `path` from `encoding` into a UTF-8 file (no BOM) in dest_dir; return its path.

    Bytes are decoded without newline translation, so line endings and quoted newlines are kept,
    unless unify_newlines: then every CRLF becomes LF (DuckDB's CSV sniffer fails on a file
    that mixes the two).
    """
    path, dest_dir = Path(path), Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / f"{path.name.strip().split('.')[0] or 'source'}.utf8.csv"
    # "utf-8-sig" drops a leading BOM; for other codecs a BOM is not expected.
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        with open_source_bytes(path) as src, dest.open("wb") as out:
            held_cr = ""  # a CR at the end of a chunk may start a CRLF split across two
            for chunk in _chunks(src):
                text = held_cr + decoder.decode(chunk, final=False)
                if unify_newlines:
                    held_cr = "\r" if text.endswith("\r") else ""
                    text = text[: len(text) - len(held_cr)].replace("\r\n", "\n")
                out.write(text.encode("utf-8"))
            out.write((held_cr + decoder.decode(b"", final=True)).encode("utf-8"))
    except UnicodeDecodeError as err:
        raise SourceError(f"{path}: cannot decode as {encoding}: {err.reason}") from err
    return dest
