"""The console's message catalogue: every key the page uses (HTML ``data-i18n*``, ``t("...")``/``say(.., "...")``
in its modules, and the keys it builds from the API's enumerations) is in every language's catalogue, with the
same placeholders; a missing key fails here, not on the operator's screen."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from shopwatch.api.console import MESSAGES, STATIC
from shopwatch.api.health_reason import WHY_KINDS
from shopwatch.core.config import Settings
from shopwatch.core.events import EventType
from shopwatch.core.health import CameraState
from shopwatch.core.principal import Role
from shopwatch.core.tip_records import TipType
from shopwatch.incidents.linking import COMPASS
from shopwatch.incidents.workflow import Status

LANGUAGES = ("zh-CN", "en")
HTML_KEY = re.compile(r'data-i18n(?:-[a-z-]+)?="([^"]+)"')
JS_KEY = re.compile(r'(?:\bt\(|\bsay\([^;]*?,\s*)"([a-z][\w.-]*)"')
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def catalogue(lang: str) -> dict[str, str]:
    data = json.loads((MESSAGES / f"{lang}.json").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def used_keys() -> set[str]:
    keys: set[str] = set()
    for page in STATIC.glob("*.html"):
        keys |= set(HTML_KEY.findall(page.read_text(encoding="utf-8")))
    for module in STATIC.glob("*.js"):
        keys |= set(JS_KEY.findall(module.read_text(encoding="utf-8")))
    keys |= {f"type.{t}" for t in EventType} | {f"status.{s}" for s in Status} | {f"move.{s}" for s in Status}
    keys |= {f"health.{s}" for s in CameraState} | {"health.unknown"} | {f"role.{r}" for r in Role}
    keys |= {f"direction.{d}" for d in COMPASS}  # an incident's direction of travel
    keys |= {f"tip.type.{t}" for t in TipType}  # a tip's type (the case analysis counts tips by type)
    keys |= {f"why.{k}" for k in WHY_KINDS if k != "other"}  # why a camera is offline (other: the sentence)
    return keys - {"move.new"}  # nothing moves an event back to new


def test_the_key_finder_sees_the_page() -> None:
    keys = used_keys()
    assert {"auth.title", "lang.label", "cameras.search", "feed.live", "detail.now", "who"} <= keys  # html, t(), say()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_key_the_page_uses_is_in_the_catalogue(lang: str) -> None:
    missing = sorted(used_keys() - catalogue(lang).keys())
    assert missing == [], f"messages/{lang}.json lacks {missing}"


def test_the_catalogues_have_the_same_keys_and_placeholders() -> None:
    zh, en = catalogue("zh-CN"), catalogue("en")
    assert zh.keys() == en.keys(), sorted(zh.keys() ^ en.keys())
    for key in zh:
        assert zh[key].strip() and en[key].strip(), key
        assert set(PLACEHOLDER.findall(zh[key])) == set(PLACEHOLDER.findall(en[key])), key
    assert all(re.search(r"[\u4e00-\u9fff]", zh[key]) for key in ("auth.title", "events.title", "cameras.title"))


async def test_the_page_is_told_the_station_zone(app: FastAPI) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        answer = await client.get("/console/station.json")
        assert answer.status_code == 200 and answer.json() == {"timezone": "Asia/Shanghai"}
        for lang in LANGUAGES:
            assert (await client.get(f"/console/messages/{lang}.json")).json() == catalogue(lang)


def test_an_unknown_station_zone_is_refused_by_name() -> None:
    with pytest.raises(ValidationError, match="Mars/Olympus"):
        Settings.model_validate({"api": {"timezone": "Mars/Olympus"}})
