from django.urls import path

from . import views, views_catalogue, views_visit

app_name = "programmes"
urlpatterns = [
    path("", views_catalogue.catalogue, name="catalogue"),
    path("worklist/", views.worklist, name="worklist"),
    path("due/", views_visit.due, name="due"),
    # ``code`` is the record number (档案编号), as in the residents app: the scope walk fills it.
    path("residents/<str:code>/", views.resident_programmes, name="resident"),
    path("residents/<str:code>/enrol/", views.enrol, name="enrol"),
    path("residents/<str:code>/close/<int:pk>/", views.close, name="close"),
    path("residents/<str:code>/<slug:programme>/visit/", views_visit.visit, name="visit"),
]
