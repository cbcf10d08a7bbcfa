"""Settings for the 12345 hotline platform: one module, driven by the environment.

With no environment at all it boots on an embedded SQLite file under ``var/``, which is what
``hotline demo`` wants, with DEBUG off: Django's debug page lists every URL and setting, so it is
shown only to a developer who asks for it (``HOTLINE_ENV=development`` or ``DEBUG=1``). Production
sets ``HOTLINE_ENV=production`` plus ``DATABASE_URL`` (PostgreSQL), ``SECRET_KEY`` and
``ALLOWED_HOSTS``; the security settings then pass ``manage.py check --deploy``. What protects what
is in docs/security.md.
"""

import datetime as dt
import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

BASE_DIR = Path(__file__).resolve().parent.parent
# Data of the embedded default: ``var/`` beside the source in a checkout, or in the working directory
# when the package is installed (``pip install .`` puts the code in site-packages).
_IN_CHECKOUT = (BASE_DIR / "pyproject.toml").exists()
VAR_DIR = Path(os.environ.get("HOTLINE_VAR_DIR", (BASE_DIR if _IN_CHECKOUT else Path.cwd()) / "var"))
if "DATABASE_URL" not in os.environ:
    VAR_DIR.mkdir(parents=True, exist_ok=True)


TRUE_WORDS, FALSE_WORDS = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in TRUE_WORDS


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _url_flag(value: str, name: str) -> bool:
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"DATABASE_URL 的 {name} 须为 true 或 false：{value!r}")


def parse_database_url(url: str) -> dict:
    """Turn ``postgres://user:pass@host:port/name`` or ``sqlite:///path`` into a DATABASES entry."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = unquote(parsed.path)
        # sqlite:///relative.db has path "/relative.db"; sqlite:////abs.db has "//abs.db".
        name = path[1:] if path.startswith("//") else path.lstrip("/") or ":memory:"
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": name,
                "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20,
                            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}}
    if parsed.scheme in {"postgres", "postgresql", "pgsql"}:
        options = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
        # Two options Django reads by type, not as libpq text: ``server_side_binding=true`` would
        # otherwise be the string "true", which Django's ``is True`` ignores without a word.
        if "server_side_binding" in options:
            options["server_side_binding"] = _url_flag(options["server_side_binding"], "server_side_binding")
        if "prepare_threshold" in options:
            value = options["prepare_threshold"].strip().lower()
            if value not in {"none", ""} and not value.isdigit():
                raise ValueError(f"DATABASE_URL 的 prepare_threshold 须为非负整数或 none：{value!r}")
            options["prepare_threshold"] = int(value) if value.isdigit() else None
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parsed.path.lstrip("/")),
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
            "CONN_MAX_AGE": int(os.environ.get("CONN_MAX_AGE", "60")),
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": options,
        }
    raise ValueError(f"不支持的 DATABASE_URL 协议：{parsed.scheme!r}（可用 sqlite:// 或 postgres://）")


HOTLINE_ENV = os.environ.get("HOTLINE_ENV", "").strip().lower()
PRODUCTION = HOTLINE_ENV == "production"
# Debug only when a developer asks for it: the demo, ``hotline serve`` and gunicorn run without it.
DEBUG = env_bool("DEBUG", HOTLINE_ENV == "development")

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise RuntimeError("生产环境必须设置 SECRET_KEY 环境变量")
    SECRET_KEY = "dev-only-insecure-key-change-me-0123456789abcdefghijklmnopqrstuvwxyz"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_tasks",
    "hotline.web.apps.TasksDatabaseConfig",  # django_tasks_db, named in Chinese
    "hotline.accounts",
    "hotline.directory",
    "hotline.catalog",
    "hotline.workorders",
    "hotline.intake",
    "hotline.triage",
    "hotline.metrics",
    "hotline.analytics",
    "hotline.assessment",
    "hotline.briefing",
    "hotline.web",
    "hotline.demo",
    "hotline.bench",
    "hotline.portal",
    "hotline.open311",
    "hotline.notify",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "hotline.web.middleware.RejectNulMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "hotline.accounts.middleware.IdleTimeoutMiddleware",
    "hotline.accounts.middleware.SecondFactorMiddleware",
    "hotline.accounts.middleware.NoStoreMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "hotline.web.csp.CSPMiddleware",  # django-csp's, the header built once per process
    # Last: it answers a locked-out login with the Chinese lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "hotline.urls"
WSGI_APPLICATION = "hotline.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "hotline" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "hotline.web.views.notifications.bell_context",
            ],
        },
    },
]

DATABASES = {
    "default": parse_database_url(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'hotline.sqlite3'}")
    )
}
# Analytics and briefing queries may go to a streaming replica (see docs/deployment.md).
if os.environ.get("REPLICA_DATABASE_URL"):
    DATABASES["replica"] = parse_database_url(os.environ["REPLICA_DATABASE_URL"])
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
ANALYTICS_DATABASE = "replica" if "replica" in DATABASES else "default"
# Writes and migrations go to the primary only; reads use the replica only when asked (dbrouter.py).
DATABASE_ROUTERS = ["hotline.dbrouter.PrimaryReplicaRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# django-axes first: a locked-out username+address is refused before the password is even checked.
# hotline.accounts.backends.ModelBackend is Django's with the user read on every request by a
# statement compiled once. Sessions logged in before it replaced Django's name their old backend and
# end once (the person logs in again).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "hotline.accounts.backends.ModelBackend"]

# Login throttling (django-axes, failures in the database so every app process counts them):
# AXES_FAILURE_LIMIT wrong passwords for one username from one address lock that pair for
# AXES_COOLOFF_MINUTES; the right password is refused meanwhile (docs/security.md).
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = dt.timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "30")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "hotline.accounts.views.locked_out"
AXES_CLIENT_IP_CALLABLE = "hotline.lib.clientip.client_ip"  # None, never a non-address: the column is inet on PostgreSQL
AXES_VERBOSE = False
# Logins are audited in the platform's own AuditLog (hotline/accounts/signals.py); axes keeps only
# the failure counters it locks by.
AXES_DISABLE_ACCESS_LOG = True

# Rules for every password set through a form (admin, 修改密码): not like the username or name,
# at least 10 characters of two kinds (letters, digits, others), not a common password (Django's English list and a
# Chinese one generated in hotline/accounts/passwords.py). The demo's people get theirs directly.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
     "OPTIONS": {"user_attributes": ("username", "display_name", "first_name", "last_name", "email", "phone"),
                 "max_similarity": 0.6}},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "hotline.accounts.passwords.ChineseCommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "hotline.accounts.passwords.CharacterClassesValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "hotline" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every request without it
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "/media/"

# Attachments of work orders (docs/attachments.md): files under var/attachments by default — not
# under MEDIA_ROOT and never served by a static route: every download goes through the order's
# visibility door. Several machines share an S3-compatible bucket (MinIO, Ceph, OSS, COS) through
# django-storages (pip install ".[s3]"): ATTACHMENTS_S3_BUCKET plus ATTACHMENTS_S3_ENDPOINT (and
# the usual AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY in the environment).
if os.environ.get("ATTACHMENTS_S3_BUCKET"):
    STORAGES["attachments"] = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        "bucket_name": os.environ["ATTACHMENTS_S3_BUCKET"],
        "endpoint_url": os.environ.get("ATTACHMENTS_S3_ENDPOINT") or None,
        "region_name": os.environ.get("ATTACHMENTS_S3_REGION") or None,
        "location": os.environ.get("ATTACHMENTS_S3_PREFIX", "attachments"),
        "default_acl": "private", "querystring_auth": True, "file_overwrite": False,
    }}
else:
    STORAGES["attachments"] = {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {
        "location": str(Path(os.environ.get("ATTACHMENTS_ROOT", VAR_DIR / "attachments"))),
        "base_url": None, "file_permissions_mode": 0o640, "directory_permissions_mode": 0o750,
    }}
HOTLINE_ATTACHMENTS = {
    "MAX_MB": int(os.environ.get("ATTACHMENT_MAX_MB", "10")),  # one file; nginx allows 20 MB per request
    "MAX_PER_UPLOAD": int(os.environ.get("ATTACHMENT_MAX_PER_UPLOAD", "9")),
    "MAX_PER_ORDER": int(os.environ.get("ATTACHMENT_MAX_PER_ORDER", "30")),
    "MAX_MEGAPIXELS": int(os.environ.get("ATTACHMENT_MAX_MEGAPIXELS", "60")),
    "MAX_SIDE": int(os.environ.get("ATTACHMENT_MAX_SIDE", "12000")),
    # Optional virus scan by a running clamd (INSTREAM): a unix socket path, or host:port.
    "CLAMD": os.environ.get("CLAMD_SOCKET") or os.environ.get("CLAMD_HOST", ""),
}

# "shared" holds what every app process must count together (the portal's rate limits): Redis when
# there is one, otherwise a table in the database (created by the portal's migration 0002), never
# a per-process memory that would multiply a limit by the number of processes.
if os.environ.get("REDIS_URL"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": os.environ["REDIS_URL"]}}
    CACHES["shared"] = CACHES["default"]
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
              "shared": {"BACKEND": "django.core.cache.backends.db.DatabaseCache",
                         "LOCATION": "hotline_shared_cache"}}
# Sessions live in PostgreSQL so any app process can serve any request and losing Redis loses no
# login. With the shared Redis cache they are also read from it (cached_db): one query less on
# every request; saves and logouts write both. A per-process cache would keep serving a session
# that another process logged out, so without Redis they are read from the database (Django's
# database engine, its per-request read built once: hotline/accounts/sessions.py).
SESSION_ENGINE = ("django.contrib.sessions.backends.cached_db" if os.environ.get("REDIS_URL")
                  else "hotline.accounts.sessions")

TASKS = {
    "default": {
        "BACKEND": os.environ.get("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}
# Optional Redis queue (pip install -e .[rq]; worker: hotline rqworker --job-class
# django_tasks_rq.backend.Job default). The PostgreSQL queue stays the default: docs/deployment.md.
if TASKS["default"]["BACKEND"] == "django_tasks_rq.RQBackend":
    INSTALLED_APPS.append("django_rq")
    RQ_QUEUES = {"default": {"URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")}}

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 12 * 3600
# A staff session unused this long is logged out (hotline/accounts/middleware.py); 0 turns it off.
HOTLINE_IDLE_MINUTES = int(os.environ.get("HOTLINE_IDLE_MINUTES", "30"))

# TOTP (django-otp) for the roles that see or change everything: required before any page when
# HOTLINE_OTP_REQUIRED is on (the default in production); optional in the demo and development,
# where a person who enrolled a device is still asked for its code.
HOTLINE_OTP_ROLES = ("admin", "supervisor", "auditor")
HOTLINE_OTP_REQUIRED = env_bool("HOTLINE_OTP_REQUIRED", PRODUCTION)
OTP_TOTP_ISSUER = os.environ.get("HOTLINE_NAME", "12345热线平台")

# Content-Security-Policy (django-csp): scripts only from our own static files, never inline; the
# inline style attributes of a few templates and htmx's indicator style are allowed.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# How many reverse proxies (nginx, a load balancer) stand in front of the app: the portal's rate
# limit then reads the citizen's address from X-Forwarded-For instead of the proxy's.
PORTAL_PROXY_HOPS = int(os.environ.get("PROXY_HOPS", "0"))

# Jobs the scheduler runs once per sweep period besides the SLA sweep (each must be idempotent and
# return what it queued).
HOTLINE_PERIODIC_JOBS = ["hotline.intake.upstream.schedule_reports", "hotline.triage.tasks.schedule_settle",
                         "hotline.triage.tasks.schedule_retrain", "hotline.triage.tasks.schedule_near_duplicates",
                         "hotline.triage.tasks.schedule_early_warning", "hotline.triage.tasks.schedule_month_hot_problems",
                         "hotline.catalog.history.apply_due_versions", "hotline.notify.knowledge.remind_reviews_due"]
# Jobs the scheduler runs at every tick (each cheap when there is nothing to do): the outbox's
# retries fall due and messages of a dead worker are resolved without waiting for a sweep period.
HOTLINE_TICK_JOBS = ["hotline.notify.tasks.schedule_due"]

# Business settings a center changes without code.
# Live updates to open pages (hotline.live.broker): redis, postgres or poll; empty = Redis when
# REDIS_URL is set, else PostgreSQL LISTEN/NOTIFY on PostgreSQL, else polling the database (SQLite).
HOTLINE_LIVE_BACKEND = os.environ.get("HOTLINE_LIVE_BACKEND", "")
# An open page's event stream ends after this long and the browser reconnects: a stream holds a
# server thread, and this bounds for how long (docs/notifications.md).
HOTLINE_LIVE_STREAM_SECONDS = float(os.environ.get("HOTLINE_LIVE_STREAM_SECONDS", "25"))

HOTLINE = {
    "NAME": os.environ.get("HOTLINE_NAME", "汝州市12345民呼必应热线"),
    "ISSUER": os.environ.get("HOTLINE_ISSUER", "汝州市人民政府办公室"),
    "NUMBER_PREFIX": os.environ.get("HOTLINE_NUMBER_PREFIX", "RZ"),
    # The few statements every request and registration runs (hotline.lib.compiled.cursor) are
    # prepared by PostgreSQL once per connection. Off behind PgBouncer older than 1.21 in
    # transaction pooling, or without its max_prepared_statements (docs/deployment.md).
    "PREPARED_STATEMENTS": env_bool("HOTLINE_PREPARED_STATEMENTS", True),
    # An order is near-due when less than this share of its handling time is left.
    "NEAR_DUE_HOURS": int(os.environ.get("HOTLINE_NEAR_DUE_HOURS", "24")),
    # Repeat governance (国办函〔2025〕66号): a new call about an order closed less than this many days
    # ago is its repeat. "linked": a new 重办 order linked to it goes to dispatch; "reopen": the
    # closed order itself is reopened for dispatch and the call merged into it. Older: a new order.
    "REPEAT_WINDOW_DAYS": int(os.environ.get("HOTLINE_REPEAT_WINDOW_DAYS", "30")),
    "REPEAT_POLICY": os.environ.get("HOTLINE_REPEAT_POLICY", "linked"),
    # Callbacks that retry (docs/workflow.md): an unreached callback is tried again after
    # CALLBACK_RETRY_HOURS, up to CALLBACK_ATTEMPTS attempts in all; the last unreached one closes the
    # order as 无法联系. CALLBACK_SMS_SURVEY: the first unreached attempt also sends the citizen an SMS
    # with the satisfaction link (an event notify's rules deliver).
    "CALLBACK_ATTEMPTS": int(os.environ.get("HOTLINE_CALLBACK_ATTEMPTS", "3")),
    "CALLBACK_RETRY_HOURS": int(os.environ.get("HOTLINE_CALLBACK_RETRY_HOURS", "24")),
    "CALLBACK_SMS_SURVEY": os.environ.get("HOTLINE_CALLBACK_SMS_SURVEY", "1") not in ("0", "false", "no", ""),
    # 未诉先办 early warning (docs/triage.md): the supervisors are alerted when one town or street has
    # this many orders of one rising topic within HOTSPOT_ALERT_DAYS days (once per place and topic).
    "HOTSPOT_ALERT_COUNT": int(os.environ.get("HOTLINE_HOTSPOT_ALERT_COUNT", "5")),
    "HOTSPOT_ALERT_DAYS": int(os.environ.get("HOTLINE_HOTSPOT_ALERT_DAYS", "7")),
}

# Notifications and the outbox (docs/notifications.md). SMS goes through Kannel's smsbox
# (sendsms); with no KANNEL_SENDSMS_URL no SMS is queued at all. E-mail goes through Django's SMTP
# backend when EMAIL_HOST is set. Robots (企业微信/钉钉) need only a unit's webhook.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "10"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "hotline@localhost")
HOTLINE_NOTIFY = {
    # Where links in messages point (the tracking page for citizens, order pages for staff).
    "PUBLIC_URL": os.environ.get("HOTLINE_PUBLIC_URL", "http://127.0.0.1:8000"),
    # An event older than this when recorded is history replayed (imports, the demo month): no messages.
    "MAX_AGE_MINUTES": int(os.environ.get("NOTIFY_MAX_AGE_MINUTES", "60")),
    "KANNEL_SENDSMS_URL": os.environ.get("KANNEL_SENDSMS_URL", ""),
    "KANNEL_USERNAME": os.environ.get("KANNEL_USERNAME", ""),
    "KANNEL_PASSWORD": os.environ.get("KANNEL_PASSWORD", ""),
    "KANNEL_SMSC": os.environ.get("KANNEL_SMSC", ""),
    "SMS_FROM": os.environ.get("SMS_FROM", "12345"),
    # Kannel's admin interface: a message it still holds in its store is not sent again.
    "KANNEL_ADMIN_URL": os.environ.get("KANNEL_ADMIN_URL", ""),
    "KANNEL_ADMIN_PASSWORD": os.environ.get("KANNEL_ADMIN_PASSWORD", ""),
    # Secret in the delivery-report URL Kannel calls back; derived from SECRET_KEY unless set.
    "DLR_TOKEN": os.environ.get("NOTIFY_DLR_TOKEN", ""),
    "EMAIL_ENABLED": bool(os.environ.get("EMAIL_HOST")),
    "MAX_ATTEMPTS": int(os.environ.get("NOTIFY_MAX_ATTEMPTS", "5")),
    "BACKOFF_SECONDS": int(os.environ.get("NOTIFY_BACKOFF_SECONDS", "30")),
    # How long a worker may hold a message it claimed; past it the worker is taken for dead.
    "LEASE_SECONDS": int(os.environ.get("NOTIFY_LEASE_SECONDS", "120")),
    "TIMEOUT_SECONDS": int(os.environ.get("NOTIFY_TIMEOUT_SECONDS", "10")),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
