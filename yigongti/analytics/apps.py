from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "yigongti.analytics"
    label = "analytics"
    verbose_name = _("指标与统计分析")

    def ready(self) -> None:
        from . import receivers

        receivers.connect()
