from django.urls import path

from . import views

app_name = "analytics"
urlpatterns = [
    path("", views.index, name="index"),
    # ``code`` is the division code of the org unit (county, township or village), as in the registry.
    path("<str:code>/", views.board, name="board"),
    path("<str:code>/<str:indicator>/", views.indicator_page, name="indicator"),
    path("<str:code>/<str:indicator>/formula/", views.formula, name="formula"),
    path("<str:code>/<str:indicator>/tree/", views.tree, name="tree"),
]
