"""User accounts, roles, officers' communes and the login-failure log used for rate limits."""
from __future__ import annotations

import enum
import hashlib
import hmac
from datetime import datetime, timedelta

from sqlalchemy import Boolean, Column, Enum, ForeignKey, Integer, String, Table, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ocopkit.db import Base, UTCDateTime, utcnow
from ocopkit.errors import Conflict, Invalid, N_
from ocopkit.text import nfc

MIN_PASSWORD_LENGTH = 6
# Checked against when the user name is unknown, so the answer takes as long either way.
_DUMMY_HASH = generate_password_hash("no such user")


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
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid("password", N_("The password or PIN needs at least %(n)s characters."),
                      n=MIN_PASSWORD_LENGTH)
    if role == Role.officer and not communes:
        raise Invalid("communes", N_("An officer must be assigned at least one commune."))
    if role == Role.producer and producer is None:
        raise Invalid("producer", N_("A producer login must belong to a producer."))
    if session.scalar(select(User.id).where(User.username == username)):
        raise Conflict("username", N_("The user name %(name)s is already taken."), name=username)
    user = User(
        username=username, display_name=nfc(display_name) or username,
        password_hash=generate_password_hash(password), role=role,
        producer_id=producer.id if producer is not None else None,
        communes=list(communes),
    )
    session.add(user)
    session.flush()
    return user


def set_password(user: User, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid("password", N_("The password or PIN needs at least %(n)s characters."),
                      n=MIN_PASSWORD_LENGTH)
    user.password_hash = generate_password_hash(password)
    user.session_version += 1


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
    if check_password_hash(stored, password) and user is not None and user.is_active:
        session.execute(delete(LoginFailure).where(LoginFailure.key == f"account:{username}"))
        return user
    session.add_all([LoginFailure(key=f"account:{username}", at=now),
                     LoginFailure(key=address_key, at=now)])
    session.execute(delete(LoginFailure).where(LoginFailure.at < now - timedelta(days=1)))
    return None


def end_sessions(user: User) -> None:
    """Invalidate every session cookie issued to this user so far (logout, password change)."""
    user.session_version += 1
