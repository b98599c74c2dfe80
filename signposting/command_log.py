"""Every management command run logs one line as it starts and one as it ends (its name,
exit status and duration; never its arguments, which may name a file or a person).

Django has no signal for a command run, and a base class of our own would miss Django's
commands (migrate, createcachetable) and those of the packages we use. So the app's `ready`
wraps `BaseCommand.execute`, the one method every command goes through whether it is run by
`manage.py` or by `call_command` (the nightly job's steps); the wrapper changes nothing of
what the command does, returns or raises. Every other line logged during the run carries the
command's name and the run's id.
"""

import logging
import time
import uuid
from functools import wraps
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from signposting.logs import COMMAND_LOGGER, log_context

logger = logging.getLogger(COMMAND_LOGGER)


def install() -> None:
    """Wraps BaseCommand.execute, once."""
    if getattr(BaseCommand.execute, "logs_runs", False):
        return
    BaseCommand.execute = _logged(BaseCommand.execute)


def _logged(execute: Any) -> Any:
    @wraps(execute)
    # `self`, not a name of ours: a command's options are keyword arguments (shell's `command`).
    def logged_execute(self: BaseCommand, *args: Any, **options: Any) -> Any:
        name = self.__module__.rsplit(".", 1)[-1]
        started = time.perf_counter()
        status, error = 0, None
        with log_context(command=name, run_id=uuid.uuid4().hex):
            logger.info("command started")
            try:
                return execute(self, *args, **options)
            except BaseException as raised:
                status, error = exit_status(raised), type(raised).__name__
                raise
            finally:
                ended = {
                    "exit_status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                }
                if error:
                    ended["error"] = error
                level = logging.INFO if status == 0 else logging.ERROR
                logger.log(level, "command finished", extra=ended)

    logged_execute.logs_runs = True
    return logged_execute


def exit_status(raised: BaseException) -> int:
    """The process's exit status that the exception leads to (as manage.py would exit)."""
    if isinstance(raised, CommandError):
        return raised.returncode
    if isinstance(raised, SystemExit):
        return raised.code if isinstance(raised.code, int) else (0 if raised.code is None else 1)
    if isinstance(raised, KeyboardInterrupt):
        return 130
    return 1
