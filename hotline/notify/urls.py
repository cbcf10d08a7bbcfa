from django.urls import path

from hotline.notify import views

app_name = "notify"
urlpatterns = [
    path("dlr/", views.delivery_report, name="dlr"),
    path("failures/", views.failures, name="failures"),
    path("deliveries/<int:pk>/retry/", views.retry, name="retry"),
]
