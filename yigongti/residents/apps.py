from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ResidentsConfig(AppConfig):
    name = "yigongti.residents"
    label = "residents"
    verbose_name = _("居民健康档案")

    def ready(self) -> None:
        from yigongti.registry.services import path_moved

        from .signals import on_division_path_moved

        # A re-parented division rewrites the paths below it; residents carry those paths too.
        path_moved.connect(on_division_path_moved, dispatch_uid="residents.division_path_moved")
