"""User accounts, roles, officers' communes, the account audit log and the login-failure log
used for rate limits."""
from __future__ import annotations

import enum
from dataclasses import dataclass
import hashlib
import hmac
from datetime import datetime, timedelta

from sqlalchemy import Boolean, Column, Enum, ForeignKey, Integer, String, Table, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from ocopkit.db import Base, UTCDateTime, utcnow
from ocopkit.errors import Conflict, Invalid, N_
from ocopkit.passwords import check_pin, check_staff_password, hash_secret, verify_secret
from ocopkit.text import nfc

# Checked against when the user name is unknown, so the answer takes as long either way.
_DUMMY_HASH = hash_secret("no such user")


class Role(str, enum.Enum):
    admin = "admin"
    officer = "officer"
    producer = "producer"


user_commune = Table(
    "user_commune",
    Base.metadata,
    Column("user_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    Column("commune_id", ForeignKey("commune.id", ondelete="CASCADE"), primary_key=True),
)


class User(Base):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=20, validate_strings=True))
    producer_id: Mapped[int | None] = mapped_column(ForeignKey("producer.id"), unique=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    communes = relationship("Commune", secondary=user_commune, lazy="selectin")

    is_authenticated = True
    is_anonymous = False

    def get_id(self) -> str:
        """Flask-Login's cookie token: bumping session_version invalidates old cookies."""
        return f"{self.id}:{self.session_version}"

    @property
    def commune_ids(self) -> set[int]:
        return {c.id for c in self.communes}

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin

    @property
    def is_officer(self) -> bool:
        return self.role == Role.officer

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.admin, Role.officer)

    @property
    def has_second_factor(self) -> bool:
        return self.totp_confirmed_at is not None


class AccountEvent(Base):
    """Who did what to which login (created, deactivated, password reset...); never a secret."""

    __tablename__ = "account_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(String(200), default="")

    actor = relationship("User", foreign_keys=[actor_id], lazy="joined")


class LoginFailure(Base):
    """One failed login; keys are 'account:<name>' or 'address:<hmac>' (no raw IP is kept)."""

    __tablename__ = "login_failure"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


def normalise_username(username: str) -> str:
    return nfc(username).lower()


def create_user(
    session: Session, *, username: str, password: str, role: Role | str,
    display_name: str = "", communes=(), producer=None,
) -> User:
    """Create a login. Officers need at least one commune; producer logins need a producer."""
    role = Role(role)
    username = normalise_username(username)
    if not username:
        raise Invalid("username", N_("A user name is required."))
    if role == Role.officer and not communes:
        raise Invalid("communes", N_("An officer must be assigned at least one commune."))
    if role == Role.producer and producer is None:
        raise Invalid("producer", N_("A producer login must belong to a producer."))
    check_secret(role, password, username=username, display_name=display_name,
                 phone=getattr(producer, "phone", None))
    if session.scalar(select(User.id).where(User.username == username)):
        raise Conflict("username", N_("The user name %(name)s is already taken."), name=username)
    user = User(
        username=username, display_name=nfc(display_name) or username,
        password_hash=hash_secret(password), role=role,
        producer_id=producer.id if producer is not None else None,
        communes=list(communes),
    )
    session.add(user)
    session.flush()
    return user


def check_secret(role: Role, password: str, *, username: str, display_name: str = "",
                 phone: str | None = None) -> None:
    """Staff passwords and producer PINs follow different rules (see ocopkit.passwords)."""
    if role == Role.producer:
        check_pin(password, phone=phone or username)
    else:
        check_staff_password(password, username=username, display_name=display_name)


def set_password(user: User, password: str, *, temporary: bool = False) -> None:
    """Store a new password (or PIN) and end the user's other sessions. A temporary one,
    handed over by someone else, must be changed at the next login."""
    if not temporary:
        check_secret(user.role, password, username=user.username,
                     display_name=user.display_name)
    user.password_hash = hash_secret(password)
    user.must_change_password = temporary
    user.session_version += 1


def record_account_event(session: Session, actor, user: User, action: str,
                         detail: str = "") -> None:
    session.add(AccountEvent(actor_id=getattr(actor, "id", None), user_id=user.id,
                             action=action, detail=detail, at=utcnow()))


def address_key(address: str, secret: str) -> str:
    digest = hmac.new(secret.encode(), address.encode(), hashlib.sha256).hexdigest()[:32]
    return f"address:{digest}"


def is_login_blocked(
    session: Session, *, username: str, address_key: str, now: datetime,
    window: timedelta, max_per_account: int, max_per_address: int,
) -> bool:
    """True when the account or the address failed too often within the window."""
    since = now - window
    counts = dict(session.execute(
        select(LoginFailure.key, func.count())
        .where(LoginFailure.key.in_([f"account:{normalise_username(username)}", address_key]),
               LoginFailure.at > since)
        .group_by(LoginFailure.key)
    ).all())
    return (counts.get(f"account:{normalise_username(username)}", 0) >= max_per_account
            or counts.get(address_key, 0) >= max_per_address)


def authenticate(session: Session, *, username: str, password: str, address_key: str,
                 now: datetime) -> User | None:
    """The active user with these credentials, or None after logging the failure."""
    username = normalise_username(username)
    user = session.scalar(select(User).where(User.username == username))
    stored = user.password_hash if user is not None else _DUMMY_HASH
    if verify_secret(stored, password) and user is not None and user.is_active:
        return user
    session.add_all([LoginFailure(key=f"account:{username}", at=now),
                     LoginFailure(key=address_key, at=now)])
    session.execute(delete(LoginFailure).where(LoginFailure.at < now - timedelta(days=1)))
    return None


def clear_login_failures(session: Session, user: User) -> None:
    """After a complete login (password, then the second factor when there is one): a right
    password alone does not reset the count, or it would allow endless code guesses."""
    session.execute(delete(LoginFailure).where(LoginFailure.key == f"account:{user.username}"))


def end_sessions(user: User) -> None:
    """Invalidate every session cookie issued to this user so far (logout, password change)."""
    user.session_version += 1


@dataclass(frozen=True)
class SessionLimits:
    """How long a login lasts: `idle` since the last request, `absolute` since the login."""

    idle: timedelta
    absolute: timedelta


def session_expired(limits: SessionLimits, *, started_at: datetime | None,
                    seen_at: datetime | None, now: datetime) -> bool:
    """A session without its timestamps (issued before limits existed) has expired too."""
    if started_at is None or seen_at is None:
        return True
    return now - seen_at > limits.idle or now - started_at > limits.absolute
