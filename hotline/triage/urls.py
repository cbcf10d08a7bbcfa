from django.urls import path

from hotline.triage import views

urlpatterns = [
    path("suggest", views.suggest, name="triage_suggest"),
    path("duplicates/", views.duplicates, name="triage_duplicates"),
    path("duplicates/<int:pk>/<str:decision>/", views.review, name="triage_duplicate_review"),
]
