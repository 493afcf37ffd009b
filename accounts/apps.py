from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts and classes")

    def ready(self):
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        from accounts.middleware import start_session_clock
        from accounts.throttle import count_login_failure
        from config.logging import log_failed_login

        user_logged_in.connect(start_session_clock, dispatch_uid="accounts-session-clock")
        user_login_failed.connect(log_failed_login, dispatch_uid="accounts-failed-login-log")
        user_login_failed.connect(count_login_failure, dispatch_uid="accounts-failed-login-count")
