from django.urls import path

from . import views

app_name = "registry"
urlpatterns = [
    path("", views.tree, name="tree"),
    path("divisions/<str:code>/", views.division, name="division"),
    path("institutions/<str:code>/", views.institution_detail, name="institution_detail"),
    path("standards/", views.standards, name="standards"),
]
