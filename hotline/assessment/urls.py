from django.urls import path

from hotline.assessment import views

app_name = "assessment"
urlpatterns = [
    path("", views.index, name="index"),
    path("mine/", views.mine, name="mine"),
    path("appeals/", views.appeals, name="appeals"),
    path("appeals/<int:appeal_id>/decide/", views.decide_appeal, name="decide_appeal"),
    path("adjustments/", views.adjustments, name="adjustments"),
    path("adjustments/<int:adjustment_id>/decide/", views.decide_adjustment, name="decide_adjustment"),
    path("<int:year>-<int:month>/", views.month, name="month"),
    path("<int:year>-<int:month>/compute/", views.compute, name="compute"),
    path("<int:year>-<int:month>/v<int:version>/publish/", views.publish, name="publish"),
    path("<int:year>-<int:month>/export.xlsx", views.export, name="export"),
    path("<int:year>-<int:month>/units/<int:unit_id>/", views.sheet, name="sheet"),
    path("<int:year>-<int:month>/units/<int:unit_id>/appeal/", views.file_appeal, name="file_appeal"),
]
