from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InsuranceConfig(AppConfig):
    name = "yigongti.insurance"
    label = "insurance"
    verbose_name = _("城乡居民医保")
