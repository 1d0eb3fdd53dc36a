"""The worker's loop has two hosts: ``manage.py worker`` and a thread of a web process
(``InProcess``); mail delivery is one job that either runs."""
from __future__ import annotations

import threading

from portal.notifications.deliver import Deliverer
from portal.worker import JOBS, InProcess, Job


def test_a_thread_of_the_web_process_runs_the_workers_loop_and_wakes_on_demand(app):
    ran = threading.Event()

    def work() -> float:
        ran.set()
        return 3600.0  # nothing more to do for an hour, unless woken

    host = InProcess(app, [Job(name="counted", interval=3600, run=work)], name="counted")
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
