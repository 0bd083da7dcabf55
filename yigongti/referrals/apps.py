from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReferralsConfig(AppConfig):
    name = "yigongti.referrals"
    label = "referrals"
    verbose_name = _("双向转诊与远程会诊")

    def ready(self) -> None:
        from yigongti.residents.panels import resident_link_register
        from yigongti.residents.signals import follow_resident

        from .models import Booking, Referral, Teleconsultation

        # The patient's rows follow their village; the institution paths follow a re-parented division.
        follow_resident((Referral, Booking, Teleconsultation), uid="referrals",
                        extra_path_fields={Referral: ("from_path", "to_path"),
                                           Teleconsultation: ("from_path", "to_path")})
        resident_link_register(_("转诊与会诊"), "referrals:resident")
