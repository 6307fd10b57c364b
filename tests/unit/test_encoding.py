"""Encoding detection and transcoding of source CSV files (ingest/encoding.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from customer_tiers.ingest.encoding import (
    CHUNK_SIZE,
    SourceError,
    detect_encoding,
    transcode_to_utf8,
)

TEXT = "customer_id,name,city\nC001,张伟,上海\nC002,李娜,北京\n"


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_plain_utf8(tmp_path: Path) -> None:
    assert detect_encoding(_write(tmp_path / "a.csv", TEXT.encode("utf-8"))) == "utf-8"


def test_ascii_only_is_utf8(tmp_path: Path) -> None:
    assert detect_encoding(_write(tmp_path / "a.csv", b"a,b\n1,2\n")) == "utf-8"


def test_utf8_bom(tmp_path: Path) -> None:
    assert detect_encoding(_write(tmp_path / "a.csv", TEXT.encode("utf-8-sig"))) == "utf-8-sig"


@pytest.mark.parametrize("codec", ["gbk", "gb2312", "gb18030"])
def test_gbk_family_reads_as_gb18030(tmp_path: Path, codec: str) -> None:
    assert detect_encoding(_write(tmp_path / "a.csv", TEXT.encode(codec))) == "gb18030"


@pytest.mark.parametrize("before_boundary", [1, 2, 3])
def test_utf8_char_straddling_chunk_boundary_is_not_a_false_alarm(
    tmp_path: Path, before_boundary: int
) -> None:
    # '中' is 3 bytes and '😀' 4 bytes in UTF-8; start them 1-3 bytes before the 1 MiB mark.
    data = b"x" * (CHUNK_SIZE - before_boundary) + "中😀\n".encode()
    assert detect_encoding(_write(tmp_path / "a.csv", data)) == "utf-8"


@pytest.mark.parametrize("before_boundary", [1, 2, 3])
def test_gbk_chars_straddling_chunk_boundary(tmp_path: Path, before_boundary: int) -> None:
    # GBK '张伟' is 4 bytes (2 + 2); '😀' is a 4-byte GB18030 sequence. The first chunk is pure
    # ASCII up to the straddling character, so the decision rests on bytes across the boundary.
    data = b"x" * (CHUNK_SIZE - before_boundary) + "张伟😀\n".encode("gb18030")
    path = _write(tmp_path / "a.csv", data)
    assert detect_encoding(path) == "gb18030"
    out = transcode_to_utf8(path, "gb18030", tmp_path / "out")
    assert out.read_bytes() == data.decode("gb18030").encode("utf-8")


def test_neither_utf8_nor_gb18030_names_file_and_offset(tmp_path: Path) -> None:
    # 0xFF is never valid in UTF-8 and never a GB18030 lead byte: offset 4 in both.
    path = _write(tmp_path / "bad.csv", b"a,b\n\xff\xfe\n")
    with pytest.raises(SourceError, match=r"bad\.csv.*byte offset 4\b.*byte offset 4\b"):
        detect_encoding(path)


def test_invalid_bytes_after_first_chunk_report_absolute_offset(tmp_path: Path) -> None:
    path = _write(tmp_path / "bad.csv", b"y" * (CHUNK_SIZE + 10) + b"\xff\n")
    with pytest.raises(SourceError, match=rf"byte offset {CHUNK_SIZE + 10}\b"):
        detect_encoding(path)


def test_truncated_multibyte_char_at_end_of_file(tmp_path: Path) -> None:
    # A lone GBK lead byte at the end: incomplete in both encodings, reported at its offset.
    path = _write(tmp_path / "cut.csv", b"a,b\n" + "张".encode("gbk")[:1])
    with pytest.raises(SourceError, match=r"cut\.csv.*byte offset 4\b"):
        detect_encoding(path)


def test_bom_with_invalid_utf8_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.csv", b"\xef\xbb\xbfa,b\n" + "张".encode("gbk") + b"\n")
    with pytest.raises(SourceError, match=r"a\.csv.*byte-order mark.*byte offset 7\b"):
        detect_encoding(path)


def test_utf16_is_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path / "u16.csv", TEXT.encode("utf-16"))
    with pytest.raises(SourceError, match=r"u16\.csv.*UTF-16"):
        detect_encoding(path)


def test_nul_bytes_mean_binary(tmp_path: Path) -> None:
    path = _write(tmp_path / "img.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(SourceError, match=r"img\.csv.*NUL byte at byte offset 8\b"):
        detect_encoding(path)


def test_transcode_gb18030_keeps_crlf_and_has_no_bom(tmp_path: Path) -> None:
    text = 'id,note\r\n1,"第一行\r\n第二行"\r\n'
    path = _write(tmp_path / "orders.csv", text.encode("gb18030"))
    out = transcode_to_utf8(path, "gb18030", tmp_path)
    assert out.parent == tmp_path and out != path
    assert out.read_bytes() == text.encode("utf-8")


def test_transcode_utf8_sig_drops_the_bom(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.csv", TEXT.encode("utf-8-sig"))
    assert transcode_to_utf8(path, "utf-8-sig", tmp_path / "out").read_bytes() == TEXT.encode()


def test_unify_newlines_joins_a_crlf_split_across_chunks(tmp_path: Path) -> None:
    # the CR is the last byte of the first chunk the transcoder reads, its LF the first of the next
    first = b"a," + b"x" * (CHUNK_SIZE - 3) + b"\r"
    path = tmp_path / "orders.csv"
    path.write_bytes(first + b"\nb,y\nc,z\r\n")
    out = transcode_to_utf8(path, "utf-8", tmp_path / "out", unify_newlines=True)
    assert out.read_bytes() == first[:-1] + b"\nb,y\nc,z\n"


def test_utf8_file_with_a_gbk_part_is_refused_not_misread(tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_bytes("id,name\nc1,张伟\n".encode() + "c2,李娜\n".encode("gbk"))
    # "id,name\\n" 8 bytes, "c1," 3, 张伟 6, "\\n" 1, "c2," 3: the GBK 李 starts at 21
    with pytest.raises(SourceError, match=r"mixes encodings: valid UTF-8 .* byte offset 21"):
        detect_encoding(path)
    # a GBK file is still GBK
    path.write_bytes("id,name\nc1,张伟\nc2,李娜\n".encode("gbk"))
    assert detect_encoding(path) == "gb18030"
