from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MedicinesConfig(AppConfig):
    name = "yigongti.medicines"
    label = "medicines"
    verbose_name = _("基本药物")

    def ready(self) -> None:
        from yigongti.care.panels import encounter_panel_register
        from yigongti.registry.services import path_moved
        from yigongti.residents.signals import follow_resident

        from .models import Prescription
        from .panels import prescription_panel

        # Prescriptions follow their resident (transfer, merge) and, with the stock rows and documents, a
        # re-parented division.
        follow_resident([Prescription], uid="medicines", extra_path_fields={Prescription: ("institution_path",)})
        path_moved.connect(_on_path_moved, dispatch_uid="medicines.division_path_moved", weak=False)
        encounter_panel_register(prescription_panel)  # 处方与发药 on the encounter page


def _on_path_moved(sender: Any, *, old: str, new: str, **kwargs: Any) -> None:
    """A re-parented division: the institution paths stored on stock rows and documents follow it."""
    from yigongti.core.tree import subtree_move

    from .models import Holding, Movement, PurchaseOrder, Requisition, StockTake

    for model, field in ((Holding, "path"), (Movement, "path"), (Requisition, "path"),
                         (Requisition, "supplier_path"), (PurchaseOrder, "path"), (StockTake, "path")):
        subtree_move(model._base_manager.all(), old, new, field)
