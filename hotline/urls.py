from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path, reverse_lazy

from hotline.accounts import views as account_views
from hotline.analytics import urls as analytics_api_urls
from hotline.workorders import api_urls as order_api_urls


def favicon(request):
    """Browsers ask for /favicon.ico whatever the page links; it is one of the app's static files
    (looked up per request: the hashed name exists only once collectstatic has run)."""
    return HttpResponsePermanentRedirect(static("hotline/favicon.ico"))


admin.site.site_header = "12345热线平台 · 系统管理"
admin.site.site_title = "12345热线平台"
admin.site.index_title = "配置"

urlpatterns = [
    # The JSON API first: Django tries patterns in order, and every registration posted to
    # /api/orders/ would otherwise be tried against all of the console's pages before its own. No
    # other pattern matches a path under /api/ (tests/test_request_fast_paths.py checks), so the
    # order changes no URL.
    path("api/", include("hotline.open311.openapi_urls")),  # /api/openapi.json
    # One ``api`` namespace for the JSON API, whichever app answers: clients, the OpenAPI document
    # and the access tests find every endpoint under ``api:`` (orders, and /api/metrics/2023-07/).
    path("api/", include((order_api_urls.urlpatterns + analytics_api_urls.urlpatterns, "api"))),
    path("favicon.ico", favicon),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(
        success_url=reverse_lazy("password_change_done")), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("accounts/otp/", account_views.otp_verify, name="otp_verify"),
    path("accounts/otp/setup/", account_views.otp_setup, name="otp_setup"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("hotline.web.urls")),
]

# Each app that has pages mounts its own urls module here.
urlpatterns += [
    path("briefing/", include("hotline.briefing.urls")),
    path("assessment/", include("hotline.assessment.urls")),
    path("portal/", include("hotline.portal.urls")),
    path("triage/", include("hotline.triage.urls")),
    path("open311/v2/", include("hotline.open311.urls")),
    path("intake/", include("hotline.intake.urls")),  # upstream push API, Excel import page
    path("notify/", include("hotline.notify.urls")),  # Kannel's delivery reports, failed messages
]
