"""The one answer to "may this producer's data be shown, sold or counted for this purpose?".

`consented(...)` is the SQL condition (so list pages stay one query) and `has_consent(...)`
the Python predicate built from the very same condition. Both read consent periods, one row
per span during which a consent held, so reports ask "consented on D" as they ask
"verified on D" of accounts. Consent binds every kind of producer alike: a cooperative or an
enterprise publishes a booth or links an account on its own recorded consent, as a
household does (publish_booth and link_account have always required it of every kind).

Now (no `at`): the consent holds AND the producer has not been erased, so erasure ends
every public use at once while the past periods keep the report figures as they were.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import Session

from onboarding.models import Consent, ConsentPeriod, ConsentPurpose, Erasure

PUBLISH = ConsentPurpose.publish_booth


def consented(producer_id, purpose: ConsentPurpose | str = PUBLISH, *,
              at: datetime | None = None):
    """SQL: the producer (a column or an id) consented to `purpose` at instant `at`
    (a period started before it and not ended by it), or now and is not erased."""
    held = [ConsentPeriod.producer_id == producer_id,
            ConsentPeriod.purpose == ConsentPurpose(purpose)]
    if at is None:
        held.append(ConsentPeriod.ended_at.is_(None))
        return and_(exists().where(*held), ~exists().where(Erasure.producer_id == producer_id))
    held += [ConsentPeriod.started_at < at,
             or_(ConsentPeriod.ended_at.is_(None), ConsentPeriod.ended_at >= at)]
    return exists().where(*held)


def has_consent(session: Session, producer_id: int, purpose: ConsentPurpose | str = PUBLISH,
                *, at: datetime | None = None) -> bool:
    return bool(session.scalar(select(consented(producer_id, purpose, at=at))))


def start_period(session: Session, consent: Consent) -> ConsentPeriod:
    period = ConsentPeriod(consent_id=consent.id, producer_id=consent.producer_id,
                           purpose=consent.purpose, started_at=consent.granted_at)
    session.add(period)
    session.flush()
    return period


def end_period(session: Session, consent: Consent) -> None:
    session.execute(update(ConsentPeriod)
                    .where(ConsentPeriod.consent_id == consent.id,
                           ConsentPeriod.ended_at.is_(None))
                    .values(ended_at=consent.withdrawn_at)
                    .execution_options(synchronize_session=False))


def periods(session: Session, producer_id: int) -> list[ConsentPeriod]:
    return list(session.scalars(select(ConsentPeriod)
                                .where(ConsentPeriod.producer_id == producer_id)
                                .order_by(ConsentPeriod.started_at, ConsentPeriod.id)))
