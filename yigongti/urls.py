from django.contrib import admin
from django.urls import include, path

from .api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("registry/", include("yigongti.registry.urls")),
    path("residents/", include("yigongti.residents.urls")),
    path("programmes/", include("yigongti.programmes.urls")),
    path("referrals/", include("yigongti.referrals.urls")),
    path("care/", include("yigongti.care.urls")),
    path("analytics/", include("yigongti.analytics.urls")),
    path("surveillance/", include("yigongti.surveillance.urls")),
    path("insurance/", include("yigongti.insurance.urls")),
    path("medicines/", include("yigongti.medicines.urls")),
    path("", include("yigongti.web.urls")),
]
