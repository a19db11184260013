"""Settings of the incidents service: event retention, patrol teams and their channels, the command-room
supervisor channel, MQTT, delivery retries, cross-camera linking and auto-deterrence.

Secrets (webhook signing keys, the MQTT password, the snapshot URL key) are ``SecretStr`` and accept
``${SHOPWATCH_...}`` references like camera passwords do."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from shopwatch.core.community_config import Community
from shopwatch.core.events import EventType
from shopwatch.core.redact import mask_query
from shopwatch.core.tips_config import TipsSettings

ALERT_TOPIC = "shopwatch/alerts/{grid}/{type}"
ESCALATION_TOPIC = "shopwatch/escalations/{grid}/{type}"
TOPIC_FIELDS = frozenset({"grid", "type", "camera"})


class _Strict(BaseModel):
    # Same rules as ``config.Strict`` (not imported: ``config`` imports this module).
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


def _check_topic(value: str | None) -> str | None:
    if value is None:
        return None
    if "#" in value or "+" in value:
        raise ValueError(f"expected a topic without MQTT wildcards, found {value!r}")
    try:
        value.format(grid="g", type="t", camera="c")
    except (KeyError, IndexError, ValueError):
        raise ValueError(f"expected a topic using only {{grid}}, {{type}} and {{camera}}, found {value!r}") from None
    return value


class Webhook(_Strict):
    url: str = Field(..., pattern=r"^https?://", max_length=2000, description="Where alerts are POSTed (JSON).")
    secret: SecretStr = Field(
        ..., description="HMAC-SHA256 key of the X-Shopwatch-Signature header (inline or ${SHOPWATCH_...})."
    )
    allow_plain_http: bool = Field(
        False, description="Accept an http:// URL for this receiver (alerts carry addresses and phone numbers "
        "in clear); default: https:// only.",
    )  # fmt: skip

    @model_validator(mode="after")
    def _https_unless_allowed(self) -> Webhook:
        if self.url.lower().startswith("http://") and not self.allow_plain_http:
            raise ValueError(f"expected an https:// webhook URL, found {mask_query(self.url)!r} "
                             "(plain http only with allow_plain_http: true)")  # fmt: skip
        return self

    @field_validator("secret")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 16:
            raise ValueError("expected a webhook secret of at least 16 characters")
        return value


class Channels(_Strict):
    mqtt_topic: str | None = Field(
        ALERT_TOPIC, max_length=200, description="MQTT topic template ({grid}, {type}, {camera}); null: no MQTT."
    )
    webhooks: list[Webhook] = Field(default_factory=list, max_length=8, description="Webhook receivers.")

    _topic = field_validator("mqtt_topic")(_check_topic)


class PatrolTeam(_Strict):
    name: str = Field(..., min_length=1, max_length=64, description="Team name, unique.")
    grids: list[str] = Field(..., min_length=1, max_length=64, description="Grids (网格) the team covers.")
    channels: Channels = Field(default_factory=Channels, description="Where the team's alerts go.")
    escalation_contacts: list[str] = Field(
        default_factory=list, max_length=16, description="Named in escalations (people or phone numbers)."
    )
    escalation_s: float = Field(
        300.0, gt=0, le=86400, description="Unacknowledged this long after the event: escalate to the supervisor."
    )


class EscalationChannel(_Strict):
    mqtt_topic: str | None = Field(
        ESCALATION_TOPIC, max_length=200, description="MQTT topic template of escalations; null: no MQTT."
    )
    webhooks: list[Webhook] = Field(default_factory=list, max_length=8, description="Command-room webhooks.")

    _topic = field_validator("mqtt_topic")(_check_topic)


class MqttTls(_Strict):
    ca: str = Field(min_length=1, description="PEM file of the CA that signed the broker's certificate.")
    cert: str = Field("", description="PEM client certificate (a broker requiring one); empty: none.")
    key: str = Field("", description="PEM private key of the client certificate (keep it 0600).")

    @model_validator(mode="after")
    def _pair(self) -> MqttTls:
        if bool(self.cert) != bool(self.key):
            raise ValueError("expected both a client certificate and its key, or neither")
        return self


class Mqtt(_Strict):
    enabled: bool = Field(True, description="Deliver alerts over MQTT.")
    host: str = Field("127.0.0.1", min_length=1, max_length=253, description="Broker host.")
    port: int = Field(1883, ge=1, le=65535, description="Broker port.")
    username: str = Field("", max_length=128, description="Broker user name; empty: anonymous.")
    password: SecretStr = Field(SecretStr(""), description="Broker password (inline or ${SHOPWATCH_...}).")
    client_id: str = Field("", max_length=64, description="MQTT client id; empty: generated.")
    keepalive_s: int = Field(30, ge=5, le=3600, description="MQTT keep-alive.")
    tls: MqttTls | None = Field(
        None, description="Connect over TLS (MQTT's port 8883), verifying the broker against this CA; null: plain."
    )


class DeliverySettings(_Strict):
    timeout_s: float = Field(5.0, gt=0, le=120, description="Time allowed for one send (PUBACK, HTTP answer).")
    backoff_initial_s: float = Field(1.0, gt=0, le=600, description="First retry delay.")
    backoff_max_s: float = Field(60.0, gt=0, le=3600, description="Cap on the retry delay.")
    backoff_jitter: float = Field(0.2, ge=0, le=1, description="Random spread of a delay, as a fraction (±).")
    give_up_s: float = Field(
        86400.0, ge=60, le=30 * 86400, description="A delivery still failing this long after it was queued fails."
    )
    parallel: int = Field(16, ge=1, le=256, description="Deliveries sent at once.")
    lease_s: float = Field(
        60.0,
        ge=3,
        le=3600,
        description="How long a process holds a delivery it sends; if it dies, another process sends it after.",
    )
    public_url: str = Field(
        "http://127.0.0.1:8080", pattern=r"^https?://", max_length=500, description="Base of signed snapshot URLs."
    )
    url_ttl_s: float = Field(86400.0, ge=60, le=30 * 86400, description="How long a signed snapshot URL works.")
    url_secret: SecretStr = Field(
        SecretStr(""), description="Key signing snapshot URLs; empty: one generated and kept in data_dir."
    )

    @model_validator(mode="after")
    def _ordered(self) -> DeliverySettings:
        if self.backoff_initial_s > self.backoff_max_s:
            raise ValueError(f"backoff_initial_s ({self.backoff_initial_s}) must be ≤ backoff_max_s")
        if self.lease_s < 3 * self.timeout_s:
            # a send may take a connect and a publish, each up to timeout_s, after waiting for a free slot
            raise ValueError(f"lease_s ({self.lease_s}) must be ≥ 3 × timeout_s ({self.timeout_s})")
        return self


class Retention(_Strict):
    max_age_days: float = Field(30.0, gt=0, le=3650, description="Events older than this are deleted (files too).")
    max_disk_mb: float = Field(
        10_240.0, gt=0, le=10_000_000, description="Snapshots and clips kept at most; oldest events go first."
    )
    interval_s: float = Field(300.0, ge=1, le=86400, description="How often retention runs.")


class Linking(_Strict):
    enabled: bool = Field(True, description="Link events of one type on nearby cameras into one incident.")
    distance_m: float = Field(150.0, gt=0, le=10_000, description="Cameras at most this far apart are linked.")
    window_s: float = Field(300.0, gt=0, le=86400, description="Events at most this far apart in time are linked.")
    next_cameras: int = Field(3, ge=0, le=10, description="Likely next cameras named in a linked alert.")


# The card-posting confidence at which precision was measured at 0.95 (docs/DETECTION.md, "What the confidence
# means"): a warning through a shop's speaker accuses whoever stands there, so no rule goes below it by accident.
STRONG_CONFIDENCE = 0.95


class Confirm(_Strict):
    within_s: float = Field(
        ..., gt=0, le=3600, description="The warning plays only if an operator acknowledges the event this soon "
        "after it was stored; later (or marked false_positive), it is recorded as not played.",
    )  # fmt: skip


class Deterrence(_Strict):
    type: EventType = Field(..., description="Event type that triggers it.")
    clip: str = Field(..., min_length=1, max_length=100, description="Name of the talkback clip to play.")
    cameras: list[str] = Field(
        default_factory=list, max_length=2000, description="Camera ids it applies to; empty: every camera."
    )
    cooldown_s: float = Field(300.0, ge=0, le=86400, description="No second play on one camera for this long.")
    min_confidence: float = Field(
        ..., ge=0, le=1, description=f"Events less confident than this play nothing (recorded as skipped). "
        f"Below {STRONG_CONFIDENCE} (card posting's measured 0.95-precision point) only with allow_low_confidence.",
    )  # fmt: skip
    allow_low_confidence: bool = Field(
        False, description=f"Accept a min_confidence below {STRONG_CONFIDENCE} (logged as a warning at start); "
        "loitering and intrusion confidences are the person detector's score, not a precision.",
    )  # fmt: skip
    confirm: Confirm | None = Field(
        None, description="Play only after an operator acknowledges the event in time; null: play at once."
    )
    dry_run: bool = Field(
        False, description="Play nothing: record on the event what would have been played (or refused, and why)."
    )

    @model_validator(mode="after")
    def _strong_only(self) -> Deterrence:
        if self.min_confidence < STRONG_CONFIDENCE and not self.allow_low_confidence:
            raise ValueError(
                f"min_confidence: expected at least {STRONG_CONFIDENCE} (the measured 0.95-precision point of "
                f"card posting), found {self.min_confidence}; set allow_low_confidence: true to accept more "
                "false warnings through the speaker"
            )
        return self

    @property
    def weak(self) -> bool:
        """Accepts events below the measured strong point (allowed explicitly)."""
        return self.min_confidence < STRONG_CONFIDENCE


class IncidentsSettings(_Strict):
    teams: list[PatrolTeam] = Field(default_factory=list, max_length=500, description="Patrol teams.")
    supervisor: EscalationChannel = Field(
        default_factory=EscalationChannel, description="Command-room escalation channel."
    )
    mqtt: Mqtt = Field(default_factory=Mqtt, description="MQTT broker for alerts.")
    delivery: DeliverySettings = Field(
        default_factory=DeliverySettings, description="Outbox delivery: retries, signed URLs."
    )
    retention: Retention = Field(default_factory=Retention, description="Event retention.")
    linking: Linking = Field(default_factory=Linking, description="Cross-camera linking.")
    deterrence: list[Deterrence] = Field(
        default_factory=list, max_length=100, description="Auto-deterrence rules (clip per event type)."
    )
    community: Community = Field(
        default_factory=Community, description="Group-chat robots (WeCom, DingTalk, Feishu) and the group matrix."
    )
    tips: TipsSettings = Field(
        default_factory=TipsSettings, description="Tips from people: photo limits, nearby cameras and events."
    )
    queue_size: Annotated[int, Field(ge=10, le=100_000)] = Field(
        2000, description="Events waiting to be stored; past it new events are dropped and counted."
    )

    def secrets(self) -> list[str]:
        """Every secret in this section, for the log redactor."""
        hooks = [*self.supervisor.webhooks, *(w for t in self.teams for w in t.channels.webhooks)]
        found = [w.secret.get_secret_value() for w in hooks]
        found += [self.mqtt.password.get_secret_value(), self.delivery.url_secret.get_secret_value()]
        found += self.community.secrets()
        return [s for s in found if s]

    @field_validator("teams")
    @classmethod
    def _unique_names(cls, teams: list[PatrolTeam]) -> list[PatrolTeam]:
        names = [t.name for t in teams]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"team name {name!r} appears more than once")
        return teams
