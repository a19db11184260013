"""Logging as a user starting the service sees it: shopwatch's own lines at the configured level, third-party
libraries' (httpx logs every request at INFO: hundreds of ONVIF requests at start-up) at WARNING unless asked for."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from shopwatch.core.config import Settings
from shopwatch.core.logging import configure_logging


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the http.server name
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002, ARG002 - quiet
        pass


@pytest.fixture
def server_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/onvif/device_service"
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    ours = logging.getLogger("shopwatch").level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("shopwatch").setLevel(ours)


def test_library_info_lines_stay_out_by_default_and_ours_stay_in(
    server_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings()
    configure_logging(settings.service.log_level, libraries=settings.service.library_log_level)
    httpx.get(server_url)  # a real request: httpx logs "HTTP Request: GET ..." at INFO
    logging.getLogger("shopwatch.app").info("serving 3 cameras")
    logging.getLogger("httpx").warning("a library warning still shows")
    err = capsys.readouterr().err
    assert "HTTP Request" not in err
    assert "shopwatch.app: serving 3 cameras" in err
    assert "httpx: a library warning still shows" in err


def test_library_lines_come_back_when_asked_for(server_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings.model_validate({"service": {"log_level": "warning", "library_log_level": "info"}})
    configure_logging(settings.service.log_level, libraries=settings.service.library_log_level)
    httpx.get(server_url)
    logging.getLogger("shopwatch.app").info("not at warning")
    err = capsys.readouterr().err
    assert f"httpx: HTTP Request: GET {server_url}" in err
    assert "not at warning" not in err
