"""Where the trail calls what sits on top of it, inside a lookup's transaction.

The trail core (audit.models, audit.chain, audit.services, audit.lookup, audit.verify,
audit.selectors) imports no other app and nothing of audit.oversight: the misuse rules
and notices that must run with each lookup register here instead, from
AuditConfig.ready, so that the import arrow points from oversight down to the trail
(docs/decisions/0006). A hook works in two halves: `before` reads what it needs before the
append and returns what to write, or None; `after` writes it once the event has its number
(`sequence`). Both run in the lookup's transaction: if either fails, the lookup shows
nothing. (The halves were drawn when the append held the chain lock until commit; since the
chain is sealed after commit, docs/decisions/0010, it holds none.)
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from audit.models import AuditEvent


@dataclass(frozen=True)
class AppendHook:
    name: str
    before: Callable[..., Any]  # (event=AuditEvent not yet appended, actor=user) -> pending
    after: Callable[..., None]  # (pending=what before returned, event=the appended event)


_HOOKS: dict[str, AppendHook] = {}


def register(hook: AppendHook) -> None:
    """Registers (or replaces, by name) a hook; called from an AppConfig.ready."""
    _HOOKS[hook.name] = hook


def registered() -> list[str]:
    return list(_HOOKS)


def before_append(*, event: AuditEvent, actor: Any) -> list[tuple[AppendHook, Any]]:
    """Runs every hook's first half for a signed-in actor's event, not yet appended."""
    pending = []
    for hook in _HOOKS.values():
        found = hook.before(event=event, actor=actor)
        if found is not None:
            pending.append((hook, found))
    return pending


def after_append(*, pending: list[tuple[AppendHook, Any]], event: AuditEvent) -> None:
    """Runs the second half of each hook that had something to write."""
    for hook, found in pending:
        hook.after(pending=found, event=event)
