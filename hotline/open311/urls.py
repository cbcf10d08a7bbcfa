from django.urls import path, register_converter

from hotline.open311 import views


class FormatConverter:
    regex = "json|xml"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(FormatConverter, "fmt")

app_name = "open311"
urlpatterns = [
    path("services.<fmt:fmt>", views.services, name="services"),
    path("services/<str:code>.<fmt:fmt>", views.service_definition, name="service_definition"),
    path("requests.<fmt:fmt>", views.requests, name="requests"),
    path("requests/<str:number>.<fmt:fmt>", views.request_detail, name="request_detail"),
]
