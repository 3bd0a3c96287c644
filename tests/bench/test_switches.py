"""bench/switches.py names each context switch by thread kind and cause, from the text
`perf script -F tid,ip,sym` prints (no perf needed here)."""

from __future__ import annotations

from bench.switches import report

_MAIN_WAITS_ON_A_LOCK = """\
     100
\tffffffff82265ec8 __schedule
\t          1a2b3c __new_sem_wait_slow64 (inlined)
\t          1a2b3c PyThread_acquire_lock_timed
\t          1a2b3c lock_PyThread_acquire_lock
\t          1a2b3c method_vectorcall_VARARGS_KEYWORDS
"""
_TRANSPORT_WAITS_FOR_THE_GIL_AFTER_RECV = """\
     205
\tffffffff82265ec8 __schedule
\t          1a2b3c take_gil
\t          1a2b3c PyEval_RestoreThread
\t          1a2b3c sock_recv_into
\t          1a2b3c method_vectorcall_VARARGS_KEYWORDS
"""
_WORKER_DROPS_THE_GIL_TO_SEND = """\
     201
\tffffffff82265ec8 __schedule
\t          1a2b3c drop_gil
\t          1a2b3c PyEval_SaveThread
\t          1a2b3c sock_send
\t          1a2b3c method_vectorcall_VARARGS
"""


def test_switches_are_counted_by_thread_kind_and_cause() -> None:
    trace = (_MAIN_WAITS_ON_A_LOCK + "\n" + _TRANSPORT_WAITS_FOR_THE_GIL_AFTER_RECV * 3
             + _WORKER_DROPS_THE_GIL_TO_SEND * 2)
    text = report(iter(trace.splitlines(keepends=True)), top=5)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    assert lines[0] == "6 switches in 3 threads"
    assert lines[lines.index("workers: 2 switches in 1 threads") + 1] == (
        "2  GIL-drop sock_send < method_vectorcall_VARARGS")
    assert lines[lines.index("transport: 3 switches in 1 threads") + 1] == (
        "3  GIL-wait sock_recv_into < method_vectorcall_VARARGS_KEYWORDS")
    assert lines[lines.index("main: 1 switches in 1 threads") + 1] == (
        "1  lock_PyThread_acquire_lock < method_vectorcall_VARARGS_KEYWORDS")


def test_an_empty_trace_says_so() -> None:
    assert report(iter([]), top=5) == "no switches recorded"
