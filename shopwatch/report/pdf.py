"""The report printed to PDF by headless Chromium (``--print-to-pdf``): the HTML page as written, with its inline
CSS's ``@page`` size (A4) and the Chinese fonts of the host (fonts-wqy-microhei, installed by ``make deps``)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from shopwatch.core.errors import Unavailable

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


class ChromiumMissing(Unavailable):
    """No Chromium to print the PDF with: neither the configured one nor one on PATH."""


class PrintFailed(Unavailable):
    """Chromium ran but wrote no PDF (crashed, timed out or refused)."""


def find_chromium(configured: str | None) -> str:
    """The configured executable (a path, or a name looked up on PATH), else the first of ``CANDIDATES`` on PATH."""
    if configured is not None:
        found = shutil.which(configured)
        if found is None:
            raise ChromiumMissing(f"report.chromium: no executable {configured!r} (a path, or a name on PATH)")
        return found
    for name in CANDIDATES:
        if (found := shutil.which(name)) is not None:
            return found
    raise ChromiumMissing(
        f"a PDF report needs Chromium, and none of {', '.join(CANDIDATES)} is on PATH: install it (make deps "
        "installs Debian's chromium), set report.chromium, or write an .html report instead"
    )


def print_pdf(chromium: str, html: str, out: Path, timeout_s: float) -> None:
    """Write ``html`` as a PDF to ``out``: Chromium reads it from a private temporary folder (with its own profile
    there, so a running browser's profile lock never interferes) and writes the PDF beside it first, so ``out``
    is either the whole PDF or untouched."""
    with tempfile.TemporaryDirectory(prefix="shopwatch-report-") as tmp:
        page, pdf = Path(tmp) / "report.html", Path(tmp) / "report.pdf"
        page.write_text(html, encoding="utf-8")
        args = [
            chromium,
            "--headless",
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={Path(tmp) / 'profile'}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}",
            page.as_uri(),
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses to start as root with its sandbox on
        returncode, stderr = _run(args, timeout_s)
        if returncode is None:
            raise PrintFailed(f"Chromium ({chromium}) did not print the PDF within {timeout_s:g} s")
        if not pdf.is_file() or pdf.read_bytes()[:5] != b"%PDF-":
            tail = stderr.strip().splitlines()[-3:]
            raise PrintFailed(
                f"Chromium ({chromium}) wrote no PDF (exit status {returncode}): {' / '.join(tail) or 'no output'}"
            )
        shutil.copyfile(pdf, out)


def _run(args: list[str], timeout_s: float) -> tuple[int | None, str]:
    """(exit status, standard error) of ``args``; (None, ...) when it ran past ``timeout_s``: then the whole
    process group is killed, Chromium's renderer and GPU processes with it, not the browser process alone."""
    process = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        _, stderr = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return None, ""
    return process.returncode, stderr or ""
