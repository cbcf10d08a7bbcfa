from django.urls import path

from hotline.briefing import views

app_name = "briefing"
urlpatterns = [
    path("", views.month_list, name="list"),
    path("new/", views.create, name="create"),
    path("stats/", views.statistics, name="stats"),
    path("<int:year>/<int:month>/", views.edit, name="edit"),
    path("<int:year>/<int:month>/build/", views.build, name="build"),
    path("<int:year>/<int:month>/status/", views.build_status, name="status"),
    path("<int:year>/<int:month>/publish/", views.publish, name="publish"),
    path("<int:year>/<int:month>/draft.<str:fmt>", views.draft_download, name="draft_download"),
    path("<int:year>/<int:month>/v<int:number>.<str:fmt>", views.download, name="download"),
]
