"""The seven-group matrix: which group chats' robots an event goes to (by type, grid and kind of shop), the
outbox rows that come out of it (naming the robot, never its key), and a bad matrix refused with its key and
line."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shopwatch.core.config_loader import settings_from_text
from shopwatch.core.errors import ConfigError
from shopwatch.incidents.routing import Router
from tests.store.test_events import make_event

CONFIG = """\
incidents:
  mqtt: {enabled: false}
  community:
    groups:
      - name: 网格员
        robots:
          - {name: north, kind: wecom, key: k-north, grids: [north]}
          - {name: south, kind: wecom, key: k-south, grids: [south]}
      - name: 义警
        robots: [{name: yj, kind: dingtalk, key: t-yj, secret: SEC-yj}]
      - name: 物业
        robots: [{name: wy, kind: feishu, key: h-wy, secret: s-wy}]
      - name: 学校
        robots: [{name: xx, kind: wecom, key: k-xx}]
      - name: 串店
        robots: [{name: cd, kind: wecom, key: k-cd}]
      - name: 寄递物流
        robots: [{name: jd, kind: dingtalk, key: t-jd}]
      - name: 宾馆
        robots: [{name: bg, kind: feishu, key: h-bg}]
    rules:
      - {types: [card_posting], groups: [义警, 网格员]}
      - {types: [intrusion], merchant_kinds: [宾馆], groups: [宾馆]}
      - {types: [loitering], grids: [school-zone], groups: [学校, 网格员]}
      - {merchant_kinds: [串店], groups: [串店]}
"""


@pytest.mark.parametrize(
    ("event_type", "grid", "kind", "targets"),
    [
        ("card_posting", "north", "", ["义警/yj", "网格员/north"]),  # 义警 + that grid's 网格员 only
        ("card_posting", "south", "宾馆", ["义警/yj", "网格员/south"]),
        ("intrusion", "north", "宾馆", ["宾馆/bg"]),  # a hotel camera's intrusion
        ("intrusion", "north", "", []),  # not a hotel: no group
        ("loitering", "school-zone", "", ["学校/xx"]),  # 网格员 has no robot for that grid
        ("loitering", "north", "", []),
        ("intrusion", "south", "串店", ["串店/cd"]),  # any type at a skewer shop
        ("card_posting", "north", "串店", ["义警/yj", "网格员/north", "串店/cd"]),  # every matching rule applies
    ],
)
def test_matrix_routes_by_type_grid_and_shop_kind(event_type: str, grid: str, kind: str, targets: list[str]) -> None:
    router = Router(settings_from_text(CONFIG).incidents)
    event = make_event(1, grid=grid, type_=event_type)
    deliveries = router.alert_deliveries(event, lambda d, r: {"delivery_id": d, "reason": r},
                                         datetime.now(UTC), kind)  # fmt: skip
    assert [d.target for d in deliveries] == targets
    kinds = {"网格员": "wecom", "义警": "dingtalk", "宾馆": "feishu", "学校": "wecom", "串店": "wecom"}
    for d in deliveries:
        assert d.channel == kinds[d.team] and d.reason == "alert"
        assert "k-" not in repr(d) and "SEC" not in repr(d)  # keys stay in the config


def test_robot_keys_are_secrets_for_the_log_redactor() -> None:
    secrets = settings_from_text(CONFIG).incidents.secrets()
    assert {"k-north", "t-yj", "SEC-yj", "h-bg"} <= set(secrets)


@pytest.mark.parametrize(
    ("edit", "where", "expected"),
    [
        ("groups: [义警, 网格员]}", "line 21: incidents.community.rules", "rules[0].groups: expected one of"),
        ("{name: xx, kind: wecom, key: k-xx}", "line 14: incidents.community.groups[3].robots[0].kind", "'qq'"),
        ("{name: cd, kind: wecom, key: k-cd}", "line 16: incidents.community.groups[4].robots[0]", "https://"),
        ("{name: jd, kind: dingtalk, key: t-jd}", "line 18: incidents.community.groups[5].robots[0]", "burst"),
    ],
)
def test_bad_matrix_names_the_key_and_line(edit: str, where: str, expected: str) -> None:
    replacement = {
        "groups: [义警, 网格员]}": "groups: [义警, 夜巡]}",
        "{name: xx, kind: wecom, key: k-xx}": "{name: xx, kind: qq, key: k-xx}",
        "{name: cd, kind: wecom, key: k-cd}": "{name: cd, kind: wecom, key: k-cd, url: 'http://10.0.0.9/send'}",
        "{name: jd, kind: dingtalk, key: t-jd}": "{name: jd, kind: dingtalk, key: t-jd, burst: 30}",
    }[edit]
    with pytest.raises(ConfigError) as caught:
        settings_from_text(CONFIG.replace(edit, replacement), "community.yaml")
    message = str(caught.value)
    assert len(caught.value.problems) == 1, message
    assert where in message and expected in message, message
