"""Both languages say everything: the same keys, a name for every event type, tip type and suggestion."""

from __future__ import annotations

from shopwatch.core.events import EventType
from shopwatch.core.tip_records import TipType
from shopwatch.report.labels import ADVICE, EN, TYPES, WEEKDAYS, ZH
from shopwatch.report.model import Advice


def test_both_languages_have_every_word() -> None:
    assert set(ZH) == set(EN)
    for lang in ("zh", "en"):
        assert set(TYPES[lang]) == {t.value for t in EventType} | {t.value for t in TipType}
        assert set(ADVICE[lang]) == {a.value for a in Advice}
        assert len(WEEKDAYS[lang]) == 7
