"""Abuse limits beyond login: fixed-window counters that every worker process and server
shares (a per-process counter lets n workers grant n times the limit: trap 2 of
security.md). The database always works; Redis takes over when REDIS_URL is set. Both
backends count with one atomic step (an upsert, or INCR), so parallel hits never both
read the same count.

Subjects are `user:<id>` or an HMAC of the client's address (no raw IP is stored)."""
from __future__ import annotations

import contextlib
import math
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import Integer, String, delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, mapped_column

from ocopkit.db import Base, UTCDateTime
from ocopkit.errors import NotFound

# name -> (hits allowed, window in seconds); RATE_LIMITS in the config overrides any of them.
DEFAULT_RULES = {
    "photo_upload": (20, 600),  # per user
    "order_lookup": (20, 600),  # unknown order codes and wrong phone numbers, per address
    "trace_lookup": (30, 600),  # unknown trace codes, per address
    "checkout": (10, 600),  # orders placed, per address
}
_PURGE_ONE_IN = 200


class RateCounter(Base):
    """Hits of one subject in one window of one rule (the key names all three)."""

    __tablename__ = "rate_counter"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int  # seconds until the window ends


class DatabaseCounter:
    def __init__(self, engine: Engine):
        self.engine = engine
        if engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        self._insert = insert

    def add(self, key: str, expires_at: float) -> int:
        table = RateCounter.__table__
        expiry = datetime.fromtimestamp(expires_at, timezone.utc)
        upsert = (self._insert(table).values(key=key, hits=1, expires_at=expiry)
                  .on_conflict_do_update(index_elements=[table.c.key],
                                         set_={"hits": table.c.hits + 1})
                  .returning(table.c.hits))
        with self.engine.begin() as conn:
            hits = conn.execute(upsert).scalar_one()
            if random.randrange(_PURGE_ONE_IN) == 0:
                conn.execute(delete(table).where(table.c.expires_at < expiry - timedelta(days=1)))
        return hits

    def get(self, key: str) -> int:
        with self.engine.connect() as conn:
            return conn.scalar(select(RateCounter.hits).where(RateCounter.key == key)) or 0


class RedisCounter:
    def __init__(self, url: str):
        import redis

        self.redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    def add(self, key: str, expires_at: float) -> int:
        pipe = self.redis.pipeline(transaction=True)
        pipe.incr(key)
        pipe.expireat(key, math.ceil(expires_at) + 1)
        hits, _ = pipe.execute()
        return int(hits)

    def get(self, key: str) -> int:
        return int(self.redis.get(key) or 0)


class Limiter:
    def __init__(self, counter, rules: dict[str, tuple[int, int]], prefix: str = "ocopkit"):
        self.counter = counter
        self.rules = rules
        self.prefix = prefix

    def _window(self, rule: str, subject: str, now: float) -> tuple[str, int, float]:
        allowed, seconds = self.rules[rule]
        start = int(now // seconds) * seconds
        return f"{self.prefix}:{rule}:{subject}:{start}", allowed, start + seconds

    def hit(self, rule: str, subject: str, now: float | None = None) -> Verdict:
        """Count one hit; refused once the window holds more than the rule allows."""
        now = time.time() if now is None else now
        key, allowed, ends = self._window(rule, subject, now)
        hits = self.counter.add(key, ends)
        return Verdict(hits <= allowed, max(1, math.ceil(ends - now)))

    def check(self, rule: str, subject: str, now: float | None = None) -> Verdict:
        """Would a request go through now? Counts nothing."""
        now = time.time() if now is None else now
        key, allowed, ends = self._window(rule, subject, now)
        return Verdict(self.counter.get(key) < allowed, max(1, math.ceil(ends - now)))


def make_limiter(config, engine: Engine) -> Limiter:
    rules = {**DEFAULT_RULES, **(config.get("RATE_LIMITS") or {})}
    url = config.get("REDIS_URL")
    counter = RedisCounter(url) if url else DatabaseCounter(engine)
    return Limiter(counter, rules, prefix=config.get("RATE_LIMIT_PREFIX", "ocopkit"))


# --- in a request -----------------------------------------------------------------------

def init_app(app) -> None:
    app.extensions["ocopkit.limiter"] = make_limiter(app.config, app.extensions["ocopkit.engine"])


def _subject(per: str) -> str:
    from flask import current_app, request
    from flask_login import current_user

    from ocopkit.users import address_key

    if per == "user" and current_user.is_authenticated:
        return f"user:{current_user.id}"
    return address_key(request.remote_addr or "?", current_app.config["SECRET_KEY"])


def _refuse(verdict: Verdict) -> None:
    from werkzeug.exceptions import TooManyRequests

    if not verdict.allowed:
        raise TooManyRequests(retry_after=verdict.retry_after)


def count_hit(rule: str, *, per: str = "address") -> None:
    """Count this request under `rule`; a 429 (with Retry-After) once over the limit."""
    from flask import current_app

    _refuse(current_app.extensions["ocopkit.limiter"].hit(rule, _subject(per)))


def refuse_if_over(rule: str, *, per: str = "address") -> None:
    """A 429 if `rule` is already used up for this client; counts nothing."""
    from flask import current_app

    _refuse(current_app.extensions["ocopkit.limiter"].check(rule, _subject(per)))


@contextlib.contextmanager
def counting_misses(rule: str, *, per: str = "address"):
    """Around a look-up by a guessable key: refused while `rule` is used up, and every miss
    (a NotFound or a 404 raised inside) counts. Hits are free, so many buyers behind one
    carrier address can scan real labels; guessing cannot go on."""
    from werkzeug.exceptions import NotFound as HTTPNotFound

    refuse_if_over(rule, per=per)
    try:
        yield
    except (NotFound, HTTPNotFound):
        count_hit(rule, per=per)
        raise
