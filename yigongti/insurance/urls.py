from django.urls import path

from . import views_enrolment, views_fund, views_settlements

app_name = "insurance"
urlpatterns = [
    path("", views_settlements.home, name="home"),
    path("encounters/<int:pk>/settle/", views_settlements.settle, name="settle"),
    path("settlements/", views_settlements.settlements, name="settlements"),
    path("settlements/<int:pk>/", views_settlements.settlement_detail, name="settlement"),
    path("settlements/<int:pk>/print/", views_settlements.settlement_print, name="settlement_print"),
    path("settlements/<int:pk>/reverse/", views_settlements.settlement_act, {"action": "reverse"},
         name="settlement_reverse"),
    path("settlements/<int:pk>/resettle/", views_settlements.settlement_act, {"action": "resettle"},
         name="settlement_resettle"),
    path("enrolments/", views_enrolment.enrolments, name="enrolments"),
    path("enrolments/<int:pk>/", views_enrolment.enrolment_detail, name="enrolment"),
    path("households/<int:pk>/enrol/", views_enrolment.enrol, name="enrol"),
    path("coverage/", views_fund.coverage, name="coverage"),
    path("fund/", views_fund.fund, name="fund"),
]
