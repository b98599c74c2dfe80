"""Sign-in, sign-in failures, lockouts and sign-outs go to the audit trail through record()."""

from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from audit.models import Action
from audit.services import record


def _known_user(username: str):
    if not username:
        return None
    return get_user_model().objects.filter(username=username.strip().lower()).first()


# How a sign-in happened, when it was not by password (e.g. single sign-on, and whether the
# provider's multi-factor claim stood for the second factor): set on the request by whoever
# signs the user in, before django.contrib.auth.login, whose signal carries no more.
SIGN_IN_DETAIL = "audit_sign_in_detail"


@receiver(user_logged_in, dispatch_uid="audit.sign_in")
def on_sign_in(sender, request, user, **kwargs) -> None:
    record(
        request=request,
        action=Action.SIGN_IN,
        actor=user,
        detail=getattr(request, SIGN_IN_DETAIL, None),
    )


@receiver(user_logged_out, dispatch_uid="audit.sign_out")
def on_sign_out(sender, request, user, **kwargs) -> None:
    if user is not None:
        record(request=request, action=Action.SIGN_OUT, actor=user)


@receiver(user_login_failed, dispatch_uid="audit.sign_in_failed")
def on_sign_in_failed(sender, credentials, request=None, audit_detail=None, **kwargs) -> None:
    # audit_detail: what a sender adds about the attempt (single sign-on: the provider and why
    # it was refused), beside the account it named.
    record(
        request=request,
        action=Action.SIGN_IN_FAILED,
        outcome="denied",
        detail={**_target(credentials.get("username") or ""), **(audit_detail or {})},
    )


@receiver(user_locked_out, dispatch_uid="audit.lockout")
def on_lockout(sender, request, username=None, ip_address=None, **kwargs) -> None:
    record(request=request, action=Action.LOCKOUT, outcome="denied", detail=_target(username or ""))


def _target(username: str) -> dict:
    """The account an attempt named, if it is one. Nobody is signed in, so there is no actor.

    The attempted text is kept only when it is an account's username: a string
    typed into the username box may be someone's password.
    """
    user = _known_user(username)
    if user is None:
        return {"target_account_exists": False}
    return {
        "target_account_exists": True,
        "target_user_id": user.pk,
        "target_username": user.username,
    }
