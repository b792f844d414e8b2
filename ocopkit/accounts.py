"""Managing logins: admins create, deactivate and place officers and reset their passwords;
everyone changes their own password or PIN. Each action goes to the account audit log
(`AccountEvent`), never with the secret itself. Producers' PINs are reset by their
commune's officer in onboarding.producers.reset_pin, next to give_login."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ocopkit.errors import Invalid, NotAllowed, NotFound, N_
from ocopkit.passwords import temporary_password, verify_secret
from ocopkit.users import AccountEvent, Role, User, create_user, record_account_event, set_password


def _require_admin(actor) -> None:
    if getattr(actor, "role", None) != Role.admin:
        raise NotAllowed(N_("Only administrators can manage users."))


def list_users(session: Session, actor) -> list[User]:
    _require_admin(actor)
    return list(session.scalars(select(User).where(User.role != Role.producer)
                                .order_by(User.role, User.username)))


def get_user(session: Session, actor, user_id: int) -> User:
    _require_admin(actor)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(N_("No such user."))
    return user


def add_staff(session: Session, actor, *, username: str, role: Role | str, display_name: str = "",
              communes=()) -> tuple[User, str]:
    """A new admin or officer with a temporary password, to be changed at the first login."""
    _require_admin(actor)
    if Role(role) == Role.producer:
        raise Invalid("role", N_("Producer logins are given from the producer's page."))
    password = temporary_password()
    user = create_user(session, username=username, password=password, role=role,
                       display_name=display_name, communes=communes)
    user.must_change_password = True
    record_account_event(session, actor, user, "created", user.role.value)
    return user, password


def deactivate_user(session: Session, actor, user: User) -> None:
    _require_admin(actor)
    if user.id == getattr(actor, "id", None):
        raise Invalid(None, N_("You cannot deactivate your own login."))
    user.is_active = False
    user.session_version += 1
    record_account_event(session, actor, user, "deactivated")


def assign_communes(session: Session, actor, user: User, communes) -> None:
    _require_admin(actor)
    if user.role != Role.officer:
        raise Invalid("communes", N_("Only officers are assigned communes."))
    if not communes:
        raise Invalid("communes", N_("An officer must be assigned at least one commune."))
    user.communes = list(communes)
    record_account_event(session, actor, user, "communes_assigned",
                         ", ".join(sorted(c.code for c in communes)))


def reset_staff_password(session: Session, actor, user: User) -> str:
    """A temporary password for an officer (or admin) who forgot theirs; shown once."""
    _require_admin(actor)
    if user.role == Role.producer:
        raise Invalid(None, N_("A producer's PIN is reset by the commune's officer."))
    password = temporary_password()
    set_password(user, password, temporary=True)
    record_account_event(session, actor, user, "password_reset")
    return password


def change_own_password(session: Session, user: User, *, current: str, new: str) -> None:
    if not verify_secret(user.password_hash, current):
        raise Invalid("current", N_("The current password or PIN is wrong."))
    if verify_secret(user.password_hash, new):
        raise Invalid("new", N_("Choose a password or PIN different from the current one."))
    try:
        set_password(user, new)
    except Invalid as e:
        raise Invalid("new", e.message, **e.params) from None
    record_account_event(session, user, user, "password_changed")


def account_history(session: Session, actor, user: User) -> list[AccountEvent]:
    _require_admin(actor)
    return list(session.scalars(select(AccountEvent).where(AccountEvent.user_id == user.id)
                                .order_by(AccountEvent.at.desc()).limit(50)))
