"""Mounted at ``/intake/``.

The upstream push endpoint has no URL name on purpose: it is a machine interface (no session,
no login redirect, authenticated by its signature), so the console's URL sweeps in
tests/test_security.py do not apply to it; its own tests are in tests/test_upstream.py.
"""

from django.urls import path

from hotline.intake import views

app_name = "intake"

urlpatterns = [
    path("upstream/<slug:platform_code>/orders", views.push_order),
    path("import/", views.import_page, name="import"),
    path("import/<int:pk>/", views.import_job, name="import_job"),
    path("import/<int:pk>/status/", views.import_status, name="import_status"),
    path("import/<int:pk>/confirm/", views.import_confirm, name="import_confirm"),
]
