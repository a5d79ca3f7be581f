"""SQLAlchemy 2.0 typed models: every table of DESIGN.md ("Data").

Timestamps are timezone-aware everywhere (:class:`UTCDateTime` stores UTC and hands back aware
datetimes on SQLite too). Every dedupe key has a unique constraint. The schema is made only by the
Alembic migrations in ``storage/migrations``; a test checks that they agree with these models.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    Unicode,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Verdict statuses an analyst can give; ``new`` is the status of an ad nobody reviewed yet.
REVIEW_STATUSES = ("new", "confirmed", "false_positive", "escalated", "taken_down")
# How a crawl run can end; ``running`` is the only open state.
RUN_STATUSES = ("running", "finished", "failed", "empty", "timeout", "interrupted")
LABELS = ("fake_investment", "recovery_scam", "legit")
FLAGGED_LABELS = ("fake_investment", "recovery_scam")
USER_ROLES = ("analyst", "admin")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp: stored in UTC, always returned aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: scamradar stores aware timestamps only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


class Source(Base):
    """A configured source (one entry of sources.yaml), created on its first crawl."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    spider: Mapped[str] = mapped_column(String(40))
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CrawlRun(Base):
    __tablename__ = "crawl_runs"
    __table_args__ = (Index("ix_crawl_runs_source_started", "source_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    spider: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="running", index=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    pid: Mapped[int | None]
    items: Mapped[int] = mapped_column(default=0)
    ads_new: Mapped[int] = mapped_column(default=0)
    ads_seen_again: Mapped[int] = mapped_column(default=0)
    hits: Mapped[int] = mapped_column(default=0)
    errors: Mapped[int] = mapped_column(default=0)
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)

    source: Mapped[Source] = relationship(lazy="joined")


class Ad(Base):
    """One distinct ad. ``(source_id, dedupe_key)`` is the dedupe key: the source's external id
    when it has one, else a fingerprint of the content. ``label``/``score``/``status`` mirror the
    current hit and the latest review, so that the queue can filter and sort without joins."""

    __tablename__ = "ads"
    __table_args__ = (
        UniqueConstraint("source_id", "dedupe_key"),
        Index("ix_ads_label_last_seen", "label", "last_seen"),
        Index("ix_ads_status_last_seen", "status", "last_seen"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    dedupe_key: Mapped[str] = mapped_column(String(64))
    spider: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str | None] = mapped_column(String(255))
    url: Mapped[str | None] = mapped_column(Text)
    landing_url: Mapped[str | None] = mapped_column(Text)
    landing_domain: Mapped[str | None] = mapped_column(String(255), index=True)
    advertiser: Mapped[str | None] = mapped_column(String(500), index=True)
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str | None] = mapped_column(String(8))
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    cloaked: Mapped[bool | None]
    published_at: Mapped[datetime | None]
    first_seen: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    times_seen: Mapped[int] = mapped_column(default=1)
    last_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("crawl_runs.id", ondelete="SET NULL")
    )
    label: Mapped[str | None] = mapped_column(String(32))
    score: Mapped[float | None] = mapped_column(Float, index=True)
    status: Mapped[str] = mapped_column(String(20), default="new")
    hit_id: Mapped[int | None] = mapped_column(
        ForeignKey("hits.id", ondelete="SET NULL", use_alter=True)
    )

    source: Mapped[Source] = relationship(lazy="joined")
    hit: Mapped[Hit | None] = relationship(foreign_keys=[hit_id], post_update=True)


class Evidence(Base):
    """One captured response, kept as a WARC record; ``sha256`` is of the record's payload."""

    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    ad_id: Mapped[int] = mapped_column(ForeignKey("ads.id", ondelete="CASCADE"), index=True)
    crawl_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("crawl_runs.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(String(20), default="page")
    url: Mapped[str] = mapped_column(Text)
    fetched_at: Mapped[datetime]
    http_status: Mapped[int | None]
    content_type: Mapped[str | None] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    length: Mapped[int] = mapped_column(BigInteger, default=0)
    warc_path: Mapped[str] = mapped_column(Text)
    warc_offset: Mapped[int] = mapped_column(BigInteger, default=0)
    warc_record_id: Mapped[str | None] = mapped_column(String(100))


class Hit(Base):
    """A verdict of the rule set on an ad that it flagged. One per (ad, rule-set version)."""

    __tablename__ = "hits"
    __table_args__ = (UniqueConstraint("ad_id", "ruleset_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ad_id: Mapped[int] = mapped_column(ForeignKey("ads.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(32), index=True)
    score: Mapped[float] = mapped_column(Float)
    ruleset_version: Mapped[str] = mapped_column(String(64))
    # [{"rule", "brand", "field", "start", "end", "text"}, ...] as the engine explained it
    matches: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    brands: Mapped[list[HitBrand]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="HitBrand.brand"
    )
    rules: Mapped[list[HitRule]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="HitRule.rule_id"
    )


class HitBrand(Base):
    __tablename__ = "hit_brands"

    hit_id: Mapped[int] = mapped_column(ForeignKey("hits.id", ondelete="CASCADE"), primary_key=True)
    brand: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class HitRule(Base):
    __tablename__ = "hit_rules"

    hit_id: Mapped[int] = mapped_column(ForeignKey("hits.id", ondelete="CASCADE"), primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)
    rule_version: Mapped[int] = mapped_column(Integer)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20), default="analyst")
    password_hash: Mapped[str] = mapped_column(String(255))
    locale: Mapped[str] = mapped_column(String(5), default="ru")
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Review(Base):
    """Append-only verdict log: rows are added, never changed."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    ad_id: Mapped[int] = mapped_column(ForeignKey("ads.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewer: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Indicator(Base):
    """A phone, IBAN, card number, messenger handle, domain… shared by ads of one campaign."""

    __tablename__ = "indicators"
    __table_args__ = (UniqueConstraint("kind", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(255), index=True)
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)


class AdIndicator(Base):
    __tablename__ = "ad_indicators"

    ad_id: Mapped[int] = mapped_column(ForeignKey("ads.id", ondelete="CASCADE"), primary_key=True)
    indicator_id: Mapped[int] = mapped_column(
        ForeignKey("indicators.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class LandingTarget(Base):
    """A landing URL waiting for (or done with) the ``landing`` spider: found in an ad, in a
    certificate log, or listed in the config. ``url_hash`` (SHA-256 of the URL) is the key.
    ``origin``: the source kind that found it (telegram, ctlog, certstream, …) or ``config``;
    ``status``: pending | fetched | refused | failed. A target that failed for a passing reason
    (network, 429, 5xx) carries ``retry_at``: from then on it is due again, until its attempts
    are used up (``storage.landing``).
    """

    __tablename__ = "landing_targets"
    __table_args__ = (Index("ix_landing_targets_status_queued", "status", "queued_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    url_hash: Mapped[str] = mapped_column(String(64), unique=True)
    domain: Mapped[str | None] = mapped_column(String(255), index=True)
    origin: Mapped[str] = mapped_column(String(40), default="ad")
    origin_ad_id: Mapped[int | None] = mapped_column(ForeignKey("ads.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    note: Mapped[str | None] = mapped_column(Text)
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_fetched_at: Mapped[datetime | None]
    fetch_count: Mapped[int] = mapped_column(default=0)
    retry_at: Mapped[datetime | None]


class SourceAlert(Base):
    """A source-health alarm: open while ``closed_at`` is null."""

    __tablename__ = "source_alerts"
    __table_args__ = (Index("ix_source_alerts_open", "source_id", "closed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]

    source: Mapped[Source] = relationship(lazy="joined")


# --- The review console (review/): sign-in sessions and the analysts' allowlist -------------------
ALLOWLIST_KINDS = ("domain", "advertiser")


class ConsoleSession(Base):
    """A signed-in console session. ``id`` is the SHA-256 of the cookie's random token (the token
    itself is never stored); ``csrf_token`` is what every form of this session must send back."""

    __tablename__ = "console_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)

    user: Mapped[User] = relationship(lazy="joined")


class AllowlistEntry(Base):
    """A landing domain or an advertiser that analysts declared legitimate (after a false
    positive): the pipeline does not flag ads that match, the console hides them."""

    __tablename__ = "allowlist"
    __table_args__ = (UniqueConstraint("kind", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # domain | advertiser
    value: Mapped[str] = mapped_column(String(500))
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    source_ad_id: Mapped[int | None] = mapped_column(ForeignKey("ads.id", ondelete="SET NULL"))


# APScheduler 3's SQLAlchemy job store keeps the schedules in this table. It is declared here so
# that the migrations make it like every other table (the job store then finds it and does not
# create it itself); its shape is the job store's own.
apscheduler_jobs = Table(
    "apscheduler_jobs",
    Base.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)

# The review queue's covering index: its counts per scheme and status, its filters by brand
# (through hit_id), source, dates and score, and its page of ids read the index instead of the
# wide ``ads`` rows (``id`` is explicit for PostgreSQL's index-only scans).
Index(
    "ix_ads_queue",
    Ad.label,
    Ad.status,
    Ad.hit_id,
    Ad.source_id,
    Ad.last_seen,
    Ad.first_seen,
    Ad.score,
    Ad.id,
)
