from django.urls import path

from . import views

app_name = "residents"
urlpatterns = [
    path("", views.resident_list, name="list"),
    path("new/", views.resident_new, name="new"),
    path("review/", views.review_queue, name="review"),
    path("review/<int:pk>/", views.pair_decide, name="pair"),
    path("merges/<int:pk>/undo/", views.merge_undo, name="unmerge"),
    # ``code`` is the record number (档案编号); the scope walk fills every ``code`` parameter.
    path("<str:code>/", views.resident_detail, name="detail"),
    path("<str:code>/edit/", views.resident_edit, name="edit"),
    path("<str:code>/transfer/", views.resident_transfer, name="transfer"),
]
