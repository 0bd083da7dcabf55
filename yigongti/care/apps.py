from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CareConfig(AppConfig):
    name = "yigongti.care"
    label = "care"
    verbose_name = _("诊疗与检查检验互认")

    def ready(self) -> None:
        from yigongti.residents.panels import resident_link_register
        from yigongti.residents.signals import follow_resident

        from .models import Encounter, Order, Result

        # Encounters, results and orders follow their resident's village (transfer, merge, re-parenting).
        follow_resident((Encounter, Result, Order), uid="care",
                        extra_path_fields={Encounter: ("institution_path",)})
        resident_link_register(_("就诊与检查检验"), "care:resident")
