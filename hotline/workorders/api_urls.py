from django.urls import path

from hotline.workorders import api

app_name = "api"
urlpatterns = [
    path("orders/", api.orders, name="orders"),
    path("orders/<str:key>/", api.order_detail, name="order_detail"),
]
