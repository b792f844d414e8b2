"""Who may see or change a producer's records: pure rules shared by every package.

Admins see everything, officers the producers of their communes, a producer login its own
producer, and anonymous visitors nothing personal.
"""
from __future__ import annotations

from sqlalchemy import false, true

from ocopkit.users import Role


class SystemActor:
    """The actor of command-line work run by whoever holds the server: acts as an admin."""

    id = None
    role = Role.admin
    is_authenticated = True
    producer_id = None
    commune_ids: frozenset[int] = frozenset()


SYSTEM = SystemActor()


def _role(actor):
    return getattr(actor, "role", None) if getattr(actor, "is_authenticated", False) else None


def can_manage_producer(actor, producer) -> bool:
    """May this actor see the producer's personal data and act for it?"""
    role = _role(actor)
    if role == Role.admin:
        return True
    if role == Role.officer:
        return producer.commune_id in actor.commune_ids
    if role == Role.producer:
        return actor.producer_id == producer.id
    return False


def is_staff(actor) -> bool:
    return _role(actor) in (Role.admin, Role.officer)


def producer_scope(actor, producer_table):
    """A SQL condition limiting producer rows to those the actor may manage."""
    role = _role(actor)
    if role == Role.admin:
        return true()
    if role == Role.officer:
        ids = actor.commune_ids
        return producer_table.commune_id.in_(ids) if ids else false()
    if role == Role.producer and actor.producer_id is not None:
        return producer_table.id == actor.producer_id
    return false()


def can_manage_commune(actor, commune_id: int) -> bool:
    role = _role(actor)
    return role == Role.admin or (role == Role.officer and commune_id in actor.commune_ids)
