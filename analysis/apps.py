from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalysisConfig(AppConfig):
    name = "analysis"
    verbose_name = _("Source analysis")

    def ready(self):
        from analysis.library import signals  # noqa: F401  (connects the receivers)
