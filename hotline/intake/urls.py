"""Mounted at ``/intake/upstream/``.

The push endpoint has no URL name on purpose: it is not a page of the console (no session, no
login redirect), so the console's URL sweeps (tests/test_security.py) do not apply to it; its own
tests are in tests/test_upstream.py.
"""

from django.urls import path

from hotline.intake import views

urlpatterns = [
    path("<slug:platform_code>/orders", views.push_order),
]
