"""The board pack printed to PDF by headless Chromium (the browser the e2e tests drive):
A4, no header or footer, from the self-contained HTML file, with no network."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


class PdfFailed(RuntimeError):
    """Chromium is missing or did not print the file."""


def find_chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def print_pdf(html_file: Path, pdf_file: Path, chromium: str | None = None) -> None:
    browser = chromium or find_chromium()
    if browser is None:
        raise PdfFailed("no Chromium found (apt-get install chromium): the PDF was not written")
    with tempfile.TemporaryDirectory(prefix="casewatch-pdf-") as profile:
        command = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf_file.resolve()}",
            html_file.resolve().as_uri(),
        ]
        try:
            done = subprocess.run(command, capture_output=True, timeout=120, check=False)
        except subprocess.TimeoutExpired as exc:
            raise PdfFailed("Chromium did not finish printing within 120 s") from exc
    if done.returncode != 0 or not pdf_file.is_file() or pdf_file.stat().st_size == 0:
        raise PdfFailed(f"Chromium exited {done.returncode} without writing {pdf_file.name}")
