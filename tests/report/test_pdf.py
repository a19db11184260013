"""Finding Chromium and what happens when it cannot print: one sentence, and an old report left as it was.
(The real printing is tested end to end in tests/cli/test_report.py.)"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from shopwatch.report.pdf import ChromiumMissing, PrintFailed, find_chromium, print_pdf


def _executable(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    path.chmod(0o755)
    return path


def test_no_chromium_on_path_names_what_was_looked_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(
        ChromiumMissing, match="none of chromium, chromium-browser, google-chrome, google-chrome-stable"
    ):
        find_chromium(None)
    _executable(tmp_path, "chromium-browser", "exit 0")
    assert find_chromium(None) == str(tmp_path / "chromium-browser")
    assert find_chromium("chromium-browser") == str(tmp_path / "chromium-browser")  # a name on PATH
    with pytest.raises(ChromiumMissing, match="report.chromium: no executable 'chrome-beta'"):
        find_chromium("chrome-beta")


@pytest.mark.parametrize(
    ("body", "timeout_s", "expected"),
    [
        ("echo 'sandbox failed' >&2; exit 1", 10.0, r"wrote no PDF \(exit status 1\): sandbox failed"),
        ("exit 0", 10.0, r"wrote no PDF \(exit status 0\): no output"),
        ("sleep 30", 0.5, "did not print the PDF within 0.5 s"),
    ],
)
def test_a_failed_print_leaves_the_old_report(tmp_path: Path, body: str, timeout_s: float, expected: str) -> None:
    chromium = _executable(tmp_path, "chromium", body)
    out = tmp_path / "report.pdf"
    out.write_bytes(b"%PDF-1.4 last month's")
    began = time.monotonic()
    with pytest.raises(PrintFailed, match=expected):
        print_pdf(str(chromium), "<p>x</p>", out, timeout_s)
    # past the timeout the whole process group goes: the sleeping child holds stderr open and would keep us 30 s
    assert time.monotonic() - began < 10
    assert out.read_bytes() == b"%PDF-1.4 last month's"
