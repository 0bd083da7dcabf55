from django.urls import path

from . import views, views_encounter, views_result, views_stats

app_name = "care"
urlpatterns = [
    path("stats/", views_stats.stats, name="stats"),
    # ``code`` is the record number (档案编号), as in the residents app: the scope walk fills it.
    path("residents/<str:code>/", views.resident_care, name="resident"),
    path("residents/<str:code>/encounters/new/", views.encounter_new, name="encounter_new"),
    path("residents/<str:code>/results/new/", views_result.result_new, name="result_new"),
    path("encounters/<int:pk>/", views_encounter.encounter_detail, name="encounter"),
    path("encounters/<int:pk>/order/", views_encounter.order, name="order"),
]
