from django.urls import path

from hotline.web import views

urlpatterns = [
    path("", views.home, name="home"),
    path("orders/", views.order_list, name="order_list"),
    path("orders/<str:key>/", views.order_detail, name="order_detail"),
    path("orders/<str:key>/reveal/", views.reveal_contact, name="order_reveal"),
    path("healthz", views.healthz, name="healthz"),
]
