"""Two transactions at once, in a fixed order: the first does its work and holds it
uncommitted while the second starts, which must wait; then the first commits."""
from __future__ import annotations

import threading
import time

from sqlalchemy.orm import Session


def second_waits_for_first(engine, first, second, expected_error):
    """Run first(session) then, in another thread, second(session) while the first is
    uncommitted. Returns "committed" or the `expected_error` the second raised."""
    outcome = []

    def run_second():
        with Session(engine) as other:
            try:
                second(other)
                other.commit()
                outcome.append("committed")
            except expected_error as error:
                outcome.append(error)

    with Session(engine) as session:
        first(session)
        thread = threading.Thread(target=run_second)
        thread.start()
        time.sleep(0.5)
        assert thread.is_alive(), "the second transaction did not wait for the first"
        session.commit()
    thread.join(10)
    return outcome[0]
