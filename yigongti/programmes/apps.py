from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProgrammesConfig(AppConfig):
    name = "yigongti.programmes"
    label = "programmes"
    verbose_name = _("基本公共卫生服务项目")

    def ready(self) -> None:
        from yigongti.residents.panels import resident_link_register

        from . import receivers

        receivers.connect()
        # The record page links to the resident's programmes (residents must not import programmes).
        resident_link_register(_("公共卫生服务"), "programmes:resident")
