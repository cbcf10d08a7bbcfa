from django.urls import path

from hotline.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.index, name="index"),
    path("submit/", views.submit, name="submit"),
    path("submit/done/", views.submitted, name="submitted"),
    path("categories/", views.category_options, name="category_options"),
    path("track/", views.track, name="track"),
    path("track/<str:number>/", views.track_detail, name="track_detail"),
    path("track/<str:number>/rate/", views.rate, name="rate"),
]
