from django.urls import path

from hotline.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.index, name="index"),
    path("submit/", views.submit, name="submit"),
    path("submit/done/", views.submitted, name="submitted"),
    path("categories/", views.category_options, name="category_options"),
    path("kb/", views.kb_search, name="kb"),
    path("kb/<int:pk>/", views.kb_article, name="kb_article"),
    path("track/", views.track, name="track"),
    path("track/<str:number>/", views.track_detail, name="track_detail"),
    path("track/<str:number>/rate/", views.rate, name="rate"),
    path("track/<str:number>/files/<str:pk>/", views.evidence_file, name="evidence_file"),
    path("track/<str:number>/files/<str:pk>/thumb/", views.evidence_file, {"thumbnail": True}, name="evidence_thumb"),
]
