from django.urls import path

from . import views, views_consults, views_detail, views_slots, views_stats

app_name = "referrals"
urlpatterns = [
    path("desk/", views.desk, name="desk"),
    path("slots/", views_slots.slots, name="slots"),
    path("bookings/<int:pk>/cancel/", views_slots.booking_cancel, name="booking_cancel"),
    path("stats/", views_stats.stats, name="stats"),
    path("consults/", views_consults.consults, name="consults"),
    path("consults/<int:pk>/", views_consults.consult_detail, name="consult"),
    path("attachments/<int:pk>/", views_consults.attachment, name="attachment"),
    # ``code`` is the record number (档案编号), as in the residents app: the scope walk fills it.
    path("residents/<str:code>/", views.resident_referrals, name="resident"),
    path("residents/<str:code>/new/", views.referral_new, name="new"),
    path("residents/<str:code>/consults/new/", views_consults.consult_new, name="consult_new"),
    path("<int:pk>/", views_detail.referral_detail, name="detail"),
    path("<int:pk>/accept/", views_detail.referral_act, {"action": "accept"}, name="accept"),
    path("<int:pk>/reject/", views_detail.referral_act, {"action": "reject"}, name="reject"),
    path("<int:pk>/cancel/", views_detail.referral_act, {"action": "cancel"}, name="cancel"),
    path("<int:pk>/arrive/", views_detail.referral_act, {"action": "arrive"}, name="arrive"),
    path("<int:pk>/complete/", views_detail.referral_act, {"action": "complete"}, name="complete"),
    path("<int:pk>/down/", views_detail.referral_act, {"action": "down"}, name="down"),
]
