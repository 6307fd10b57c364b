"""Which files in the sources folder are source files, and the byte-level facts about them.

One place for the naming rules (`.csv`, `.csv.gz`, `.parquet`; a stray space around a name is
forgiven), for links (followed only to a file inside the sources folder, so nothing outside it
is ever read or quoted), for the reason a file in a landing folder is not loaded, and for the
one pass over a file's bytes that gives its checksum and what its lines look like.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from customer_tiers.ingest.encoding import CHUNK_SIZE, SourceError, open_source_bytes

# Longest suffix first: `day.csv.gz` is a gzip CSV, not a `.gz` file.
SUFFIXES = (".csv.gz", ".csv", ".parquet")
CSV_SUFFIXES = (".csv.gz", ".csv")
# Names a writer uses while a file is still being copied in; never loaded.
_PARTIAL_PREFIXES = ("~",)
_PARTIAL_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload")
# A line of spaces and tabs only (ASCII, so the same bytes in UTF-8 and GB18030).
_BLANK_LINE = re.compile(rb"(?m)^[ \t]+\r?$")
_BLANK_LINE_NO_TABS = re.compile(rb"(?m)^ +\r?$")
# A line longer than this is not blank; it need not be held whole to know that.
_CARRY_LIMIT = 4096


def _blank_pattern(header: bytes) -> re.Pattern[bytes]:
    """Tab-separated files (a tab in the header) keep their lines of tabs: rows of empty values."""
    return _BLANK_LINE_NO_TABS if b"\t" in header else _BLANK_LINE


def suffix(path: Path) -> str | None:
    """The data suffix of path's name (spaces around the name ignored, any case), or None."""
    name = path.name.strip().lower()
    return next((s for s in SUFFIXES if name.endswith(s)), None)


def stem(path: Path) -> str:
    """The name without its data suffix, lower case: `ORDERS.CSV.GZ ` -> `orders`."""
    name = path.name.strip().lower()
    found = suffix(path)
    return name[: -len(found)] if found else name


def is_csv(path: Path) -> bool:
    return suffix(path) in CSV_SUFFIXES


def is_hidden(path: Path) -> bool:
    """Hidden files (`.DS_Store`, editor swap files) are never loaded nor reported."""
    return path.name.startswith(".")


def is_partial(path: Path) -> bool:
    name = path.name.strip().lower()
    return is_hidden(path) or name.startswith(_PARTIAL_PREFIXES) or name.endswith(_PARTIAL_SUFFIXES)


def check_link(sources_dir: Path, path: Path) -> None:
    """Raise SourceError for a link that is broken or leads out of the sources folder.

    A link to a file inside the folder is read like the file; one to anywhere else is refused
    without being opened, so no content from outside the folder can reach a table or a message.
    """
    if not path.is_symlink():
        return
    target = os.readlink(path)
    if not path.exists():
        raise SourceError(f"{path} is a broken link to {target} (no such file)")
    root = Path(sources_dir).resolve()
    if not path.resolve().is_relative_to(root):
        raise SourceError(
            f"{path} is a link to {target}, outside the sources folder {root}; links are "
            "followed only within it: copy the file into the folder instead"
        )


def skip_reason(path: Path) -> str | None:
    """Why a file of a landing folder is not loaded, or None when it is a data file."""
    if path.is_dir():
        return None  # its files are listed one by one
    if is_partial(path):
        return "still being written (a partial or temporary name); loaded once renamed"
    if suffix(path) is None:
        return "not a .csv, .csv.gz or .parquet file"
    if not path.exists():
        return None  # a broken link: reported as an error by check_link
    if not path.is_file():
        return "not a regular file"
    return None


@dataclass(frozen=True)
class Scan:
    """One pass over a file: its checksum and what its lines look like (CSV only)."""

    sha256: str
    mixed_newlines: bool  # lines end in CRLF and in bare LF both
    blank_lines: bool  # lines of spaces and tabs only (treated as empty lines)


def scan(path: Path) -> Scan:
    """sha256 of the file's bytes as stored, and, for CSV, the line facts of its text (for a
    gzip file, of the text inside it)."""
    digest = hashlib.sha256()
    gzipped = path.name.strip().lower().endswith(".gz")
    if gzipped or not is_csv(path):
        with path.open("rb") as f:
            while chunk := f.read(CHUNK_SIZE):
                digest.update(chunk)
        if not gzipped:
            return Scan(digest.hexdigest(), False, False)
    crlf = bare_lf = 0
    after_cr = blank = False
    pattern: re.Pattern[bytes] | None = None  # chosen by the header line, once read
    carry = b""  # the unfinished last line of the previous chunk
    with open_source_bytes(path) as f:
        while chunk := f.read(CHUNK_SIZE):
            if not gzipped:
                digest.update(chunk)  # the bytes as stored are the ones read: one pass
            pairs = chunk.count(b"\r\n") + (1 if after_cr and chunk.startswith(b"\n") else 0)
            crlf += pairs
            bare_lf += chunk.count(b"\n") - pairs
            after_cr = chunk.endswith(b"\r")
            buffer = carry + chunk
            cut = buffer.rfind(b"\n") + 1
            if pattern is None and cut:
                pattern = _blank_pattern(buffer[: buffer.index(b"\n")])
            if pattern is not None and not blank:
                blank = pattern.search(buffer, 0, cut) is not None
            carry = buffer[cut:]
            if len(carry) > _CARRY_LIMIT and carry.strip(b" \t\r"):
                carry = b"x"  # not blank, whatever follows
        if pattern is not None and carry:
            blank = blank or pattern.fullmatch(carry) is not None
    return Scan(digest.hexdigest(), crlf > 0 and bare_lf > 0, blank)


def blank_out_whitespace_lines(path: Path, dest_dir: Path) -> Path:
    """A copy of the CSV text at `path` with every line of spaces and tabs only (outside a
    quoted field) made empty, so the reader skips it as it skips an empty line. Line numbers
    stay those of the file. A file whose header has a tab is tab-separated: there a line of
    tabs is a row of empty values, and only lines of spaces are blank."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / f"{stem(path) or 'source'}.blanked.csv"
    inside_quotes = False
    pattern = _BLANK_LINE
    with open_source_bytes(path) as src, dest.open("wb") as out:
        for number, line in enumerate(src):
            if number == 0:
                pattern = _blank_pattern(line)
            body = line.rstrip(b"\r\n")
            if not inside_quotes and number > 0 and body and pattern.fullmatch(body):
                out.write(line[len(body) :])  # the line end alone
                continue
            out.write(line)
            if line.count(b'"') % 2:
                inside_quotes = not inside_quotes
    return dest
