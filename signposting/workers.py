"""What the workers beside gunicorn share (`seal_audit --follow`, `send_outbox --follow`)."""

import signal
import threading


def stop_on_signals() -> threading.Event:
    """An event that SIGTERM (a process manager stopping the worker) or SIGINT (Ctrl-C) sets:
    the worker's loop finishes what it has in hand, then returns."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    return stop
