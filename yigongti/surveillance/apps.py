from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveillanceConfig(AppConfig):
    name = "yigongti.surveillance"
    label = "surveillance"
    verbose_name = _("传染病报告与预警")

    def ready(self) -> None:
        from yigongti.care.panels import encounter_panel_register
        from yigongti.registry.services import path_moved

        from .panels import notifiable_panel

        # A card's ``path`` is the address at onset: it stays when the resident later moves (the
        # early warning counts where the case was), so only a re-parented division rewrites paths.
        path_moved.connect(_on_path_moved, dispatch_uid="surveillance.division_path_moved", weak=False)
        encounter_panel_register(notifiable_panel)


def _on_path_moved(sender: Any, *, old: str, new: str, **kwargs: Any) -> None:
    from yigongti.core.tree import subtree_move

    from .models import CaseCard, Outbreak, Signal

    for model, fields in ((CaseCard, ("path", "institution_path")), (Signal, ("path",)), (Outbreak, ("path",))):
        for field in fields:
            subtree_move(model._base_manager.all(), old, new, field)
