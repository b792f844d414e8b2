"""Helpers for races. `second_waits_for_first` orders two transactions in one process;
`run_together` fires calls from separate processes at the same moment, as gunicorn workers
would (the brief asks races to run in separate processes on both databases)."""
from __future__ import annotations

import concurrent.futures
import multiprocessing
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


def _at(start_at: float, func, args: tuple):
    time.sleep(max(0.0, start_at - time.time()))
    return func(*args)


def run_together(func, calls: list[tuple], *, warm_up: float = 4.0, timeout: float = 90):
    """Call `func(*args)` for each args in `calls`, each in its own spawned process, all
    released at the same instant once every process has imported the code (`warm_up`
    seconds). `func` must be a module-level function (it is pickled by name); what it
    returns must be picklable. Returns the results in the order of `calls`; an exception
    in a process is raised here."""
    context = multiprocessing.get_context("spawn")
    start_at = time.time() + warm_up
    with concurrent.futures.ProcessPoolExecutor(len(calls), mp_context=context) as pool:
        futures = [pool.submit(_at, start_at, func, args) for args in calls]
        return [future.result(timeout=timeout) for future in futures]
