"""The staff's second factor: a TOTP app (RFC 6238, 30-second steps) and one-time recovery
codes for a lost phone. A code is accepted once: the last used time step is kept, so a code
seen over a shoulder or replayed within its 30 seconds is refused."""
from __future__ import annotations

import hashlib
import hmac
import io
import secrets
from datetime import datetime

import pyotp
import qrcode
from sqlalchemy import ForeignKey, String, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from ocopkit.db import Base, UTCDateTime
from ocopkit.errors import Invalid, N_
from ocopkit.users import User

ISSUER = "ocopkit"
RECOVERY_CODES = 10
STEP_SECONDS = 30


class RecoveryCode(Base):
    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def _digest(code: str) -> str:
    """Codes are 50 random bits, so a plain SHA-256 is enough (no dictionary to try)."""
    return hashlib.sha256("".join(code.split()).replace("-", "").lower().encode()).hexdigest()


def provisioning_uri(user) -> str:
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.username, issuer_name=ISSUER)


def qr_png(text: str) -> bytes:
    out = io.BytesIO()
    qrcode.make(text, box_size=6, border=2).save(out, format="PNG")
    return out.getvalue()


def start_enrolment(user) -> str:
    """A fresh secret, shown on the enrolment page until a code from it is typed back."""
    if user.totp_confirmed_at is None and not user.totp_secret:
        user.totp_secret = pyotp.random_base32()
    return user.totp_secret


def _accept_code(session: Session, user, code: str, now: datetime) -> bool:
    """True once per time step for a code of the current step or one either side. The step
    is claimed by a conditional UPDATE, so two requests racing with one code cannot both
    pass."""
    code = "".join(code.split())
    if not user.totp_secret or not code.isdigit():
        return False
    totp = pyotp.TOTP(user.totp_secret)
    current = int(now.timestamp()) // STEP_SECONDS
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            claimed = session.execute(
                update(User).where(User.id == user.id, or_(
                    User.totp_last_step.is_(None), User.totp_last_step < step))
                .values(totp_last_step=step).execution_options(synchronize_session=False))
            session.refresh(user, ["totp_last_step"])
            return claimed.rowcount == 1
    return False


def confirm_enrolment(session: Session, user, code: str, *, now: datetime) -> list[str]:
    """Turn the second factor on; returns the recovery codes, shown to the user only once."""
    if user.totp_confirmed_at is not None:
        raise Invalid("code", N_("The second factor is already set up."))
    if not _accept_code(session, user, code, now):
        raise Invalid("code", N_("Wrong or expired code: type the 6 digits the app shows now."))
    user.totp_confirmed_at = now
    return new_recovery_codes(session, user)


def new_recovery_codes(session: Session, user) -> list[str]:
    for old in session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)):
        session.delete(old)
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODES)]
    session.add_all(RecoveryCode(user_id=user.id, code_hash=_digest(c)) for c in codes)
    session.flush()
    return codes


def check_second_factor(session: Session, user, code: str, *, now: datetime) -> bool:
    """A TOTP code (once per step) or an unused recovery code (then spent)."""
    if _accept_code(session, user, code, now):
        return True
    spent = session.execute(update(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _digest(code),
        RecoveryCode.used_at.is_(None)).values(used_at=now))
    return spent.rowcount == 1  # conditional: two requests cannot both spend one code


def remaining_recovery_codes(session: Session, user) -> int:
    return len(session.scalars(select(RecoveryCode.id).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))).all())
