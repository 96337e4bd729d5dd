"""Tests of ``faceleak tos analyze`` through its argparse registration."""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

import pytest

from faceleak.cli import tos as cli_tos
from faceleak.legal import tos


def _run(argv: list[str], monkeypatch: pytest.MonkeyPatch, stdin: bytes | None = None) -> int:
    parser = argparse.ArgumentParser(prog="faceleak")
    cli_tos.add_tos_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
    return args.func(args)


def test_file_table(tmp_path: Path, monkeypatch, capsys) -> None:
    f = tmp_path / "terms.txt"
    f.write_text("We may modify these Terms at any time.\n\nWe do not sell personal information.\n")
    assert _run(["tos", "analyze", str(f)], monkeypatch) == 0
    out = capsys.readouterr().out
    assert "UNILATERAL_CHANGE" in out and "2 clauses, 1 labelled" in out


def test_file_json(tmp_path: Path, monkeypatch, capsys) -> None:
    f = tmp_path / "terms.html"
    f.write_text("<p>All disputes shall be resolved by binding arbitration.</p>", encoding="utf-8")
    assert _run(["tos", "analyze", str(f), "--json"], monkeypatch) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data) == 1 and set(data[0]) == {"text", "labels", "evidence"}
    assert data[0]["text"] == "All disputes shall be resolved by binding arbitration."
    assert data[0]["labels"] == ["ARBITRATION"]
    assert "binding arbitration" in data[0]["evidence"]["ARBITRATION"][0]


def test_stdin_japanese(monkeypatch, capsys) -> None:
    text = "当社はお客様のデータをAIモデルの学習に利用します。準拠法は日本法とします。"
    assert _run(["tos", "analyze", "-", "--json"], monkeypatch, stdin=text.encode()) == 0
    data = json.loads(capsys.readouterr().out)
    assert [d["labels"] for d in data] == [["TRAINING_USE"], ["GOVERNING_LAW"]]


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty"), (b"\x00\x01\x02binary\x00", "binary"), (None, "no such file")],
)
def test_bad_files(tmp_path: Path, monkeypatch, capsys, content, message) -> None:
    f = tmp_path / "input.txt"
    if content is not None:
        f.write_bytes(content)
    assert _run(["tos", "analyze", str(f)], monkeypatch) == 2
    err = capsys.readouterr().err
    assert message in err and "UTF-8" in err


def test_oversize_file(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(tos, "MAX_INPUT_BYTES", 100)
    f = tmp_path / "big.txt"
    f.write_text("We may change these Terms. " * 10)
    assert _run(["tos", "analyze", str(f)], monkeypatch) == 2
    assert "limit" in capsys.readouterr().err


def test_oversize_stdin(monkeypatch, capsys) -> None:
    monkeypatch.setattr(tos, "MAX_INPUT_BYTES", 100)
    assert _run(["tos", "analyze", "-"], monkeypatch, stdin=b"a " * 200) == 2
    assert "limit" in capsys.readouterr().err


def test_empty_stdin(monkeypatch, capsys) -> None:
    assert _run(["tos", "analyze", "-"], monkeypatch, stdin=b"") == 2
    assert "empty" in capsys.readouterr().err
