from django.urls import path

from hotline.analytics import api

urlpatterns = [
    path("metrics/<int:year>-<int:month>/", api.month_metrics, name="month_metrics"),
]
