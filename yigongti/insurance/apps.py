from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InsuranceConfig(AppConfig):
    name = "yigongti.insurance"
    label = "insurance"
    verbose_name = _("城乡居民医保")

    def ready(self) -> None:
        from yigongti.care.panels import encounter_panel_register
        from yigongti.registry.services import path_moved
        from yigongti.residents.signals import follow_resident

        from .models import Accumulator, Coverage, Settlement
        from .panels import settlement_panel

        # Coverage, accumulators and settlements follow their resident (transfer, merge); a
        # settlement's institution path and an enrolment's household path follow re-parented divisions.
        follow_resident([Coverage, Accumulator, Settlement], uid="insurance",
                        extra_path_fields={Settlement: ("institution_path",)})
        path_moved.connect(_on_path_moved, dispatch_uid="insurance.division_path_moved", weak=False)
        encounter_panel_register(settlement_panel)  # 医保结算 on the encounter page


def _on_path_moved(sender: Any, *, old: str, new: str, **kwargs: Any) -> None:
    from yigongti.core.tree import subtree_move

    from .models import HouseholdEnrolment

    subtree_move(HouseholdEnrolment._base_manager.all(), old, new)
