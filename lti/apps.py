from django.apps import AppConfig


class LtiConfig(AppConfig):
    name = "lti"
    verbose_name = "LTI 1.3 (learning platforms)"

    def ready(self):
        from lti import receivers  # noqa: F401  (connects the hand-in and release signals)
