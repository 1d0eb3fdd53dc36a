"""The worker's jobs have two hosts: ``manage.py worker`` and a web process
(``InProcess``); mail delivery is one job that either runs. Each job has a thread of its
own, so one that hangs delays no other."""
from __future__ import annotations

import threading
import time

from portal.notifications.deliver import Deliverer
from portal.worker import JOBS, InProcess, Job, Worker
from tests.waiting import wait_until


def test_a_thread_of_the_web_process_runs_the_workers_loop_and_wakes_on_demand(app):
    ran = threading.Event()

    def work() -> float:
        ran.set()
        return 3600.0  # nothing more to do for an hour, unless woken

    host = InProcess(app, [Job(name="counted", interval=3600, run=work)])
    host.start()
    try:
        assert ran.wait(10)  # the first round at once: the backlog does not wait
        ran.clear()
        host.wake()
        assert ran.wait(10)  # woken, not an hour later
    finally:
        host.stop()
    assert host.worker.rounds == {"counted": 2}
    ran.clear()
    host.wake()  # a stopped host starts again when work arrives
    try:
        assert ran.wait(10)
    finally:
        host.stop()


def test_the_in_process_deliverer_runs_the_workers_mail_job(app):
    job, = Deliverer(app).worker.jobs
    mail = JOBS["mail"]
    assert (job.name, job.run, job.channel, job.enabled) == \
        (mail.name, mail.run, mail.channel, mail.enabled)


def test_a_job_that_hangs_delays_no_other(app):
    """Issue 29, finding 1: the jobs ran one after another in one thread, so a round held
    by a hanging webhook receiver held the mail. The hanging job here is released only
    once the other has run while it hangs."""
    events: list[str] = []
    others_ran, release = threading.Event(), threading.Event()

    def hangs() -> float:
        events.append("hanging")
        release.wait(60)  # a bound for a broken run: the test releases it
        events.append("released")
        return 3600.0

    def quick() -> float:
        events.append("quick")
        if "hanging" in events:
            others_ran.set()
        return 0.05

    jobs = [Job(name="hangs", interval=3600, run=hangs),
            Job(name="quick", interval=3600, run=quick)]
    worker = Worker(app, jobs, waker=Idle())
    thread = threading.Thread(target=worker.loop)
    thread.start()
    try:
        assert wait_until(lambda: "hanging" in events)
        assert others_ran.wait(30), events
        release.set()
        assert wait_until(lambda: "released" in events)
    finally:
        release.set()
        worker.stop.set()
        thread.join(30)
    hanging, released = events.index("hanging"), events.index("released")
    assert "quick" in events[hanging:released]


class Idle:
    """A waker that never hears of new work (the jobs run on their own schedule)."""

    def wait(self, timeout: float) -> set[str]:
        time.sleep(min(timeout, 0.05))
        return set()

    def close(self) -> None:
        pass
