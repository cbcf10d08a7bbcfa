from django.urls import path

from hotline.triage import views

urlpatterns = [
    path("suggest", views.suggest, name="triage_suggest"),
]
