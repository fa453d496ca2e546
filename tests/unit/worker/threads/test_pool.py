"""service.worker.threads.pool: request threads taking one job after another."""

import contextvars
import threading

from service.worker.threads import pool

MARK = contextvars.ContextVar("mark", default=None)


def test_jobs_run_in_the_threads_each_in_a_fresh_context():
    threads = pool.RequestThreads(2, name="request")
    threads.start()
    seen = []
    done = threading.Event()

    def job(n):
        seen.append((n, MARK.get(), threading.current_thread().name))
        MARK.set(n)
        if len(seen) == 20:
            done.set()

    for n in range(20):
        threads.submit(job, n)
    assert done.wait(5)
    threads.stop()
    assert sorted(n for n, _, _ in seen) == list(range(20))
    assert {mark for _, mark, _ in seen} == {None}  # a job never sees another's
    assert {name for _, _, name in seen} <= {"request-1", "request-2"}


def test_a_failing_job_costs_no_thread(caplog):
    threads = pool.RequestThreads(1, name="request")
    threads.start()
    ran = threading.Event()

    def failing():
        raise RuntimeError("job failed")

    threads.submit(failing)
    threads.submit(ran.set)
    assert ran.wait(5)
    threads.stop()
    assert "A request thread's job failed" in caplog.text


def test_stop_ends_the_threads_after_the_jobs_before_it():
    threads = pool.RequestThreads(3, name="request")
    threads.start()
    ran = []
    for n in range(10):
        threads.submit(ran.append, n)
    threads.stop()
    assert sorted(ran) == list(range(10))
    assert not any(thread.is_alive() for thread in threads._threads)


def test_an_essential_thread_that_fails_stops_the_worker(caplog, monkeypatch):
    stopped = []
    monkeypatch.setattr(pool.os, "kill", lambda pid, signum: stopped.append((pid, signum)))

    def failing():
        raise OSError(22, "Invalid argument")

    thread = pool.essential_thread(failing, "acceptor")
    thread.start()
    thread.join()
    assert stopped == [(pool.os.getpid(), pool.signal.SIGTERM)]
    assert "The acceptor thread failed: the worker stops, to be replaced" in caplog.text
