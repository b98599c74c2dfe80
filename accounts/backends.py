"""Django's model backend, loading the signed-in user with their organisation and vetting in
one query: nearly every page needs them (the header, capabilities scoped by area and allowed
by vetting, the audit actor)."""

from django.contrib.auth.backends import ModelBackend

from accounts.models import User


class UserWithOrganisationBackend(ModelBackend):
    def get_user(self, user_id):
        try:
            user = User._default_manager.select_related(
                "organisation", "organisation__local_authority", "vetting"
            ).get(pk=user_id)
        except User.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
