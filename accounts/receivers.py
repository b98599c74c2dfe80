"""Receivers for Django's auth signals."""

import time

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from signposting.middleware import SESSION_STARTED_KEY


@receiver(user_logged_in, dispatch_uid="accounts.session_started")
def mark_session_start(sender, request, user, **kwargs) -> None:
    # The absolute session limit counts from sign-in (the session key has
    # already been rotated by django.contrib.auth.login).
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_STARTED_KEY] = time.time()
