"""Settings of the group-chat robots (WeCom, DingTalk, Feishu) and the seven-group matrix that routes alerts to
them: ``groups`` name the chats (网格员、义警、物业、学校、串店、寄递物流、宾馆) and their robots, ``rules`` say which
event types, grids and kinds of shop go to which groups.

Robot keys and secrets are ``SecretStr`` (inline or ``${SHOPWATCH_...}``) and never stored in the outbox: a delivery
names its robot as ``<group>/<robot>`` and the sender looks the key up when it sends."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator, model_validator

from shopwatch.core.events import EventType
from shopwatch.core.time_zone import TimeZoneName

WECOM_URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
DINGTALK_URL = "https://oapi.dingtalk.com/robot/send"
FEISHU_URL = "https://open.feishu.cn/open-apis/bot/v2/hook"


class _Strict(BaseModel):
    # Same rules as ``config.Strict`` (not imported: ``config`` imports this module through incidents_config).
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class RobotKind(StrEnum):
    WECOM = "wecom"  # 企业微信群机器人: key in the URL, no signature
    DINGTALK = "dingtalk"  # 钉钉自定义机器人: access_token in the URL, timestamp + sign query parameters
    FEISHU = "feishu"  # 飞书自定义机器人: token in the URL path, timestamp + sign in the body


_DEFAULT_URL = {RobotKind.WECOM: WECOM_URL, RobotKind.DINGTALK: DINGTALK_URL, RobotKind.FEISHU: FEISHU_URL}


class Robot(_Strict):
    name: str = Field(
        ..., min_length=1, max_length=64, pattern=r"^[^/]+$", description="Robot name, unique in its group."
    )
    kind: RobotKind = Field(..., description="wecom, dingtalk or feishu.")
    key: SecretStr = Field(
        ..., description="WeCom: the webhook key; DingTalk: the access_token; Feishu: the hook token (inline or "
        "${SHOPWATCH_...}).",
    )  # fmt: skip
    secret: SecretStr = Field(
        SecretStr(""), description="DingTalk/Feishu signing secret (加签, DingTalk's starts with SEC); empty: unsigned."
    )
    url: str = Field(
        "", pattern=r"^(https?://.*)?$", max_length=500,
        description="The vendor's send URL without the key; empty: the vendor's public one.",
    )  # fmt: skip
    allow_plain_http: bool = Field(False, description="Accept an http:// URL (tests, an intranet relay).")
    grids: list[str] = Field(
        default_factory=list, max_length=64, description="Only events of these grids (a grid's own chat); empty: all."
    )
    per_minute: int = Field(20, ge=1, le=600, description="Messages the robot accepts a minute (WeCom, DingTalk: 20).")
    burst: int = Field(5, ge=1, le=600, description="Messages sent back to back before the rate applies.")

    @property
    def send_url(self) -> str:
        return self.url or _DEFAULT_URL[self.kind]

    @model_validator(mode="after")
    def _checked(self) -> Robot:
        if self.send_url.lower().startswith("http://") and not self.allow_plain_http:
            raise ValueError(f"expected an https:// robot URL, found {self.send_url!r} "
                             "(plain http only with allow_plain_http: true)")  # fmt: skip
        if self.burst > self.per_minute:
            raise ValueError(f"burst ({self.burst}) must be ≤ per_minute ({self.per_minute})")
        return self


class Group(_Strict):
    name: str = Field(..., min_length=1, max_length=64, pattern=r"^[^/]+$", description="Group name, e.g. 义警.")
    robots: list[Robot] = Field(..., min_length=1, max_length=64, description="The group's robots (one per chat).")

    @field_validator("robots")
    @classmethod
    def _unique_robots(cls, robots: list[Robot]) -> list[Robot]:
        names = [r.name for r in robots]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise ValueError(f"robots[{i}]: robot name {name!r} appears more than once")
        return robots


class GroupRule(_Strict):
    types: list[EventType] = Field(default_factory=list, max_length=8, description="Event types; empty: every type.")
    grids: list[str] = Field(default_factory=list, max_length=256, description="Grids; empty: every grid.")
    merchant_kinds: list[str] = Field(
        default_factory=list, max_length=32,
        description="Kinds of shop (a camera's merchant.kind, e.g. 宾馆); empty: any camera.",
    )  # fmt: skip
    groups: list[str] = Field(..., min_length=1, max_length=16, description="Groups that receive matching events.")


class Community(_Strict):
    groups: list[Group] = Field(default_factory=list, max_length=64, description="Group chats and their robots.")
    rules: list[GroupRule] = Field(
        default_factory=list, max_length=256, description="Which events go to which groups (every match applies)."
    )
    timezone: TimeZoneName = Field(
        "Asia/Shanghai", min_length=1, max_length=64, description="Time zone of the times in robot messages."
    )
    console_url: str = Field(
        "", pattern=r"^(https?://.*)?$", max_length=500,
        description="Base of the console link in messages; empty: incidents.delivery.public_url.",
    )  # fmt: skip

    @field_validator("groups")
    @classmethod
    def _unique_groups(cls, groups: list[Group]) -> list[Group]:
        names = [g.name for g in groups]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise ValueError(f"groups[{i}]: group name {name!r} appears more than once")
        return groups

    @field_validator("rules")
    @classmethod
    def _known_groups(cls, rules: list[GroupRule], info: ValidationInfo) -> list[GroupRule]:
        if "groups" not in info.data:
            return rules  # the groups themselves are invalid (reported there): no second error for every rule
        known = {g.name for g in info.data["groups"]}
        for i, rule in enumerate(rules):
            for name in rule.groups:
                if name not in known:
                    raise ValueError(f"rules[{i}].groups: expected one of the groups {sorted(known)}, found {name!r}")
        return rules

    def secrets(self) -> list[str]:
        found = [s.get_secret_value() for g in self.groups for r in g.robots for s in (r.key, r.secret)]
        return [s for s in found if s]
