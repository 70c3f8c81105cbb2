"""LeadSync settings: the one place that reads the environment.

With DJANGO_DEBUG=true (what `make run` / `make test` set) every variable has an embedded
default good for a first run on a laptop (SQLite under var/, a Celery broker that needs no
server, email written to files under var/mail/). DJANGO_DEBUG defaults to false, so a
deployment that forgets it fails closed: then DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS,
FIELD_ENCRYPTION_KEYS and EMAIL_URL must be set, or the process refuses to start.
The variables are listed, with what they do, in README.md ("Configuration").
"""

import ipaddress
from pathlib import Path

import csp.constants as csp
import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

# Local state of a first run: SQLite database, broker queue, cache, emulator certificate.
VAR_DIR = Path(env.str("LEADSYNC_VAR_DIR", default=str(BASE_DIR / "var")))

# --- Core ------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/settings/#debug
DEBUG = env.bool("DJANGO_DEBUG", default=False)


def _production_secret(name: str, dev_default: str) -> str:
    """A secret with a development default that is refused when DEBUG is off."""
    value = env.str(name, default="")
    if value:
        return value
    if DEBUG:
        return dev_default
    raise ImproperlyConfigured(f"{name} must be set when DJANGO_DEBUG is false.")


SECRET_KEY = _production_secret(
    "DJANGO_SECRET_KEY", "dev-only-insecure-secret-key-change-me-0123456789abcdef"
)
ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else []
)
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must be set when DJANGO_DEBUG is false.")
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# The public base URL of this deployment, used in links sent by email and to Salesforce.
SITE_URL = env.str("LEADSYNC_SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
# True while the first-run defaults are in force (DEBUG at start-up). Unlike DEBUG, which
# tests switch off, it stays as started: `demo_setup` (a known login) runs only then.
DEVELOPMENT_DEFAULTS = DEBUG

# How many reverse proxies (TLS terminators, load balancers) stand in front of the app.
# With N > 0 the client's address is the N-th entry from the right of X-Forwarded-For and
# X-Forwarded-Proto is trusted; with 0 (no proxy) only REMOTE_ADDR counts, so clients
# cannot spoof their address to dodge rate limits.
TRUSTED_PROXY_COUNT = env.int("LEADSYNC_TRUSTED_PROXY_COUNT", default=0)
# Where those proxies connect from (addresses or CIDR networks, comma-separated): gunicorn
# takes X-Forwarded-Proto only from them (leadsync/gunicorn.conf.py). Default: a proxy on
# the same host. Ignored without proxies.
TRUSTED_PROXY_IPS = env.list("LEADSYNC_TRUSTED_PROXY_IPS", default=["127.0.0.1", "::1"])
for _address in TRUSTED_PROXY_IPS:
    try:
        ipaddress.ip_network(_address)
    except ValueError:
        raise ImproperlyConfigured(
            f"LEADSYNC_TRUSTED_PROXY_IPS: {_address!r} is not an IP address or network."
        ) from None
if TRUSTED_PROXY_COUNT and not TRUSTED_PROXY_IPS:
    raise ImproperlyConfigured("LEADSYNC_TRUSTED_PROXY_COUNT > 0 needs LEADSYNC_TRUSTED_PROXY_IPS.")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_ratelimit",  # its system check guards the cache the counters live in
    "bookings",
    "integrations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",  # Content-Security-Policy (see "Security" below)
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # A lost database connection in a view: 503 + Retry-After instead of a 500.
    "bookings.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "leadsync.urls"
WSGI_APPLICATION = "leadsync.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",  # CSP_NONCE (bookings.page_cache fills it in)
            ],
        },
    },
]

# --- Database --------------------------------------------------------------------
# https://django-environ.readthedocs.io/en/latest/types.html#environ-env-db-url
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'leadsync.sqlite3'}")
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
# A kept connection is checked before a request reuses it, so after a PostgreSQL restart
# the first request of each process reconnects instead of failing on the dead socket.
# On PostgreSQL the check reads the socket instead of a `SELECT 1` round trip while the
# connection is quiet (leadsync/postgresql/base.py).
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "leadsync.postgresql"
# Prepared statements: a statement a connection runs again (a booking's few, a push's
# claims) is parsed and planned once per connection instead of every time, about 40% of
# PostgreSQL's CPU per booking. They need server-side binding (Django's default binds
# client-side) and a session of its own per connection: behind PgBouncer in transaction
# mode, set DATABASE_PREPARED_STATEMENTS=false.
# https://docs.djangoproject.com/en/5.2/ref/databases/#server-side-parameters-binding
if DATABASES["default"]["ENGINE"] == "leadsync.postgresql" and env.bool(
    "DATABASE_PREPARED_STATEMENTS", default=True
):
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        server_side_binding=True, prepare_threshold=5
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache -----------------------------------------------------------------------
# Rate limits (allauth logins, booking submissions) need a cache shared by all
# processes: Redis when REDIS_URL is set, otherwise files under var/.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "leadsync.cache.RedisCache",  # Django's, its clients kept
            "LOCATION": REDIS_URL,
            # Redis answers in a millisecond; a Redis that hangs must not hold a booking
            # for redis-py's default 5 s per call (callers on the booking path carry on
            # without the cache, see bookings/ratelimits.py).
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# State web and workers coordinate through (which orgs have a push queued): the same store,
# under its own name so tests can isolate the default cache and keep this one shared.
CACHES["coordination"] = {**CACHES["default"], "KEY_PREFIX": "coordination"}

# Sessions, CSRF tokens and messages stay off the cache, so a Redis outage cannot touch the
# public booking page: sessions in the database, the CSRF token in a cookie, messages in
# a cookie (then the session).
SESSION_ENGINE = "django.contrib.sessions.backends.db"
CSRF_USE_SESSIONS = False
MESSAGE_STORAGE = "django.contrib.messages.storage.fallback.FallbackStorage"

# The public booking page's GET is answered from the cache while what it shows is unchanged
# (bookings.page_cache): at most this many seconds, 0 turns it off.
BOOKING_PAGE_CACHE_SECONDS = env.int("LEADSYNC_PAGE_CACHE_SECONDS", default=60)

# --- Rate limits (django-ratelimit) ----------------------------------------------
# https://django-ratelimit.readthedocs.io/en/stable/settings.html
# Booking submissions: per client IP on the public page, per key on the API.
RATELIMIT_USE_CACHE = "default"
RATELIMIT_IP_META_KEY = "bookings.ratelimits.client_ip"  # allauth's rule, proxies counted
BOOKING_RATE_LIMIT_PER_IP = "20/10m"
BOOKING_API_RATE_LIMIT_PER_KEY = "120/m"
# django-ratelimit's cache check predates Django's own RedisCache and calls it "not
# officially supported" (W001); it increments with Redis INCR, atomically, so that
# warning is silenced. The first-run file cache increments read-then-write, so parallel
# requests may slip a few submissions past a limit (E003): acceptable on a laptop with
# DEBUG on, and silenced only there. With DEBUG off and no REDIS_URL the check fails.
SILENCED_SYSTEM_CHECKS = []
if REDIS_URL:
    SILENCED_SYSTEM_CHECKS.append("django_ratelimit.W001")
elif DEBUG:
    SILENCED_SYSTEM_CHECKS += ["django_ratelimit.E003", "django_ratelimit.W001"]

# --- Auth (django-allauth) -------------------------------------------------------
# https://docs.allauth.org/en/latest/account/configuration.html
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/admin/"
ACCOUNT_ADAPTER = "bookings.adapters.StaffOnlyAccountAdapter"  # public sign-up is off
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"  # staff accounts are created by admins
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key", "login": "30/m/ip"}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "LeadSync"

# --- Internationalisation --------------------------------------------------------
LANGUAGE_CODE = "en-us"
# Languages a booking page may speak to its guests (emails, the manage page). Translations
# live in locale/<code>/LC_MESSAGES/django.po; README "Guest emails" says how to compile.
LANGUAGES = [("en", "English"), ("ja", "日本語 (Japanese)")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files ----------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Email -----------------------------------------------------------------------
# https://django-environ.readthedocs.io/en/latest/types.html#environ-env-email-url
# Alerts, password resets and guest emails go by email: production must say how (no
# fallback). A first run writes each message as a file under var/mail/ (open them there).
if not DEBUG and not env.str("EMAIL_URL", default=""):
    raise ImproperlyConfigured("EMAIL_URL must be set when DJANGO_DEBUG is false.")
vars().update(env.email_url("EMAIL_URL", default=f"filemail://{VAR_DIR / 'mail'}"))
if vars().get("EMAIL_FILE_PATH") and not EMAIL_FILE_PATH.startswith("/"):  # noqa: F821
    # django-environ drops the path's leading slash: filemail:///srv/mail is /srv/mail.
    EMAIL_FILE_PATH = "/" + EMAIL_FILE_PATH  # noqa: F821
# Waits before retry 1, 2, ... of a guest email after a transient failure (seconds; the
# minute sweep sends it when due). After the last one the email is marked failed.
GUEST_EMAIL_RETRY_DELAYS = [
    float(s) for s in env.list("GUEST_EMAIL_RETRY_DELAYS", default=[60, 300, 1800, 7200])
]
if not GUEST_EMAIL_RETRY_DELAYS:
    raise ImproperlyConfigured("GUEST_EMAIL_RETRY_DELAYS needs at least one delay.")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="LeadSync <noreply@leadsync.local>")
# Seconds an SMTP connection may block: a hanging mail server fails the send (retried)
# well inside the task's time limit instead of leaving the email's outcome unknown.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Security (production) -------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/howto/deployment/checklist/
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
if TRUSTED_PROXY_COUNT:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT  # login rate limits per real client
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp, https://django-csp.readthedocs.io/en/latest/):
# everything from this origin only; inline <script>/<style> only with the request's nonce
# (`nonce="{{ request.csp_nonce }}"`), never inline style attributes or event handlers; no
# page may be framed. Enforced in production; with DEBUG (the first-run defaults) the same
# policy is report-only, so violations show in the browser console while Django's debug
# pages, which use inline styles, keep working.
_CSP = {
    "DIRECTIVES": {
        "default-src": [csp.SELF],
        "script-src": [csp.SELF, csp.NONCE],
        "style-src": [csp.SELF, csp.NONCE],
        "img-src": [csp.SELF, "data:"],  # the MFA set-up QR code is a data: URL
        "font-src": [csp.SELF],
        "connect-src": [csp.SELF],
        "form-action": [csp.SELF],
        "base-uri": [csp.SELF],
        "object-src": [csp.NONE],
        "frame-ancestors": [csp.NONE],
    }
}
CONTENT_SECURITY_POLICY = None if DEBUG else _CSP
CONTENT_SECURITY_POLICY_REPORT_ONLY = _CSP if DEBUG else None

# Tokens at rest are encrypted with MultiFernet under these keys (comma-separated,
# newest first). Rotate with `manage.py rotate_encryption_keys`.
FIELD_ENCRYPTION_KEYS = env.list(
    "FIELD_ENCRYPTION_KEYS",
    default=[] if not DEBUG else ["ZGV2LW9ubHktaW5zZWN1cmUta2V5LTAxMjM0NTY3ODk="],
)
if not FIELD_ENCRYPTION_KEYS:
    raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must be set when DJANGO_DEBUG is false.")

# --- Salesforce ------------------------------------------------------------------
# Connected App: https://help.salesforce.com/s/articleView?id=xcloud.connected_app_create.htm
# Its callback URL must be {LEADSYNC_SITE_URL}/salesforce/oauth/callback/. The first-run
# defaults (DEBUG only) are the local emulator's demo app (`make run` starts it on :8443).
_EMULATOR_HOST = "127.0.0.1:8443"
SALESFORCE_CONSUMER_KEY = env.str(
    "SALESFORCE_CONSUMER_KEY", default="leadsync-demo-consumer-key" if DEBUG else ""
)
SALESFORCE_CONSUMER_SECRET = env.str(
    "SALESFORCE_CONSUMER_SECRET", default="leadsync-demo-consumer-secret" if DEBUG else ""
)
if bool(SALESFORCE_CONSUMER_KEY) != bool(SALESFORCE_CONSUMER_SECRET):
    raise ImproperlyConfigured(
        "Set both SALESFORCE_CONSUMER_KEY and SALESFORCE_CONSUMER_SECRET, or neither."
    )
SALESFORCE_API_VERSION = env.str("SALESFORCE_API_VERSION", default="59.0")
if not (SALESFORCE_API_VERSION.endswith(".0") and SALESFORCE_API_VERSION[:-2].isdigit()):
    raise ImproperlyConfigured("SALESFORCE_API_VERSION looks like 59.0.")
SALESFORCE_TIMEOUT = env.float("SALESFORCE_TIMEOUT", default=30.0)  # seconds, every call
# A CA file to verify Salesforce's TLS with (empty: the system / certifi CAs). The
# emulator's generated CA on a first run.
SALESFORCE_CA_BUNDLE = env.str(
    "SALESFORCE_CA_BUNDLE", default=str(VAR_DIR / "emulator" / "ca.pem") if DEBUG else ""
)
# Login hosts accepted besides login/test.salesforce.com and *.my.salesforce.com
# (host[:port], always over https): the emulator's on a first run.
SALESFORCE_EXTRA_LOGIN_HOSTS = env.list(
    "SALESFORCE_EXTRA_LOGIN_HOSTS", default=[_EMULATOR_HOST] if DEBUG else []
)

# --- Celery ----------------------------------------------------------------------
# https://docs.celeryq.dev/en/stable/userguide/configuration.html
# Without REDIS_URL a first run uses kombu's filesystem transport: no server needed.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "celery" / "queue"
    _queue_dir.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "control_folder": str(VAR_DIR / "celery" / "control"),  # default: the cwd
        "store_processed": False,
    }
else:
    if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        # kombu's Redis transport with a fix for reconnecting with messages in flight
        # (see leadsync/broker.py); the URL is read as usual.
        CELERY_BROKER_TRANSPORT = "leadsync.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # With acks_late, Redis re-delivers a message that is not acknowledged within
        # the visibility timeout. It must exceed the longest task (the hard time limit)
        # and every countdown we use. We keep long waits in the database
        # (Delivery.next_attempt_at), never in countdowns, so one hour is ample and a
        # task lost with its worker comes back within the hour at the latest (the
        # sweeper usually re-enqueues its delivery far sooner).
        "visibility_timeout": 3600,
    }
_results_dir = VAR_DIR / "celery" / "results"
CELERY_RESULT_BACKEND = env.str(
    "CELERY_RESULT_BACKEND", default=REDIS_URL or f"file://{_results_dir}"
)
if CELERY_RESULT_BACKEND.startswith("file://"):
    _results_dir.mkdir(parents=True, exist_ok=True)
CELERY_TASK_IGNORE_RESULT = True  # tasks write their outcome to the database
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 120
CELERY_TASK_TIME_LIMIT = 150
# A push takes no new claim after this long (the rest goes on in a new push), so a slow
# org or `DELIVERY_BATCHING=false` never meets the time limits above mid-claim.
DELIVERY_PUSH_SECONDS = env.float("DELIVERY_PUSH_SECONDS", default=45.0)
if not 0 < DELIVERY_PUSH_SECONDS <= CELERY_TASK_SOFT_TIME_LIMIT / 2:
    raise ImproperlyConfigured("DELIVERY_PUSH_SECONDS is above 0 and at most 60.")
CELERY_WORKER_CONCURRENCY = env.int("CELERY_WORKER_CONCURRENCY", default=2)
# Ride out a broker outage of any length: the worker and beat retry connecting, with
# backoff, until Redis is back (the default gives up after 100 attempts and exits).
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# A push running when Redis goes away finishes (its outcome is written to the database);
# its message, unacknowledged, is delivered again later and the task is safe to run twice.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Task modules beyond `<app>.tasks` autodiscovery: one per concern of integrations.
CELERY_IMPORTS = [
    "integrations.connection.tasks",
    "integrations.mappings.tasks",
    "integrations.delivery.tasks",
    "integrations.dashboard.tasks",
]
DELIVERY_SWEEP_SECONDS = env.float("DELIVERY_SWEEP_SECONDS", default=15.0)
CELERY_BEAT_SCHEDULE = {
    # Enqueue due deliveries, so a broker outage or a lost task delays, never loses.
    "deliveries-sweep": {
        "task": "integrations.deliveries_sweep",
        "schedule": DELIVERY_SWEEP_SECONDS,
    },
    # Re-describe every mapped object and re-check mappings before a booking fails.
    "schemas-refresh": {"task": "integrations.schemas_refresh_all", "schedule": 24 * 3600},
    # Test each connected org (refresh grant + limits) so a broken connection shows early.
    "connections-check": {"task": "integrations.connections_check_all", "schedule": 3600},
    # Failure alerts and the hourly digest (throttled in the database, not here).
    "alerts-send": {"task": "integrations.alerts_send", "schedule": 300},
    # Bulk resend jobs whose chunk task was lost (a broker outage) are enqueued again.
    "resend-jobs-resume": {"task": "integrations.resend_jobs_resume", "schedule": 300},
    # Guest emails: create due reminders, send emails whose enqueue was lost or whose
    # retry is due (bookings.tasks).
    "guest-emails-sweep": {"task": "bookings.guest_emails_sweep", "schedule": 60},
    # Retention: prune payloads and attempts of old sent deliveries.
    "deliveries-prune": {"task": "integrations.deliveries_prune", "schedule": 24 * 3600},
}

# --- Delivery pipeline -------------------------------------------------------------
# How bookings reach Salesforce (integrations.delivery). Waits live in the database
# (Delivery.next_attempt_at), never in countdowns.
# Records per claim: one sObject Collections call carries at most 200 records.
DELIVERY_BATCH_SIZE = env.int("DELIVERY_BATCH_SIZE", default=200)
if not 1 <= DELIVERY_BATCH_SIZE <= 200:
    raise ImproperlyConfigured("DELIVERY_BATCH_SIZE is between 1 and 200.")
# Batching off sends one request per record (the bench compares both).
# While other orgs have due work, a push's first claim takes at most this many: every
# org's first records go out in one short round before any org's next full batch.
DELIVERY_FIRST_CLAIM_SIZE = env.int("DELIVERY_FIRST_CLAIM_SIZE", default=25)
if not 1 <= DELIVERY_FIRST_CLAIM_SIZE <= 200:
    raise ImproperlyConfigured("DELIVERY_FIRST_CLAIM_SIZE is between 1 and 200.")
DELIVERY_BATCHING = env.bool("DELIVERY_BATCHING", default=True)
# Claims one push task may take before it leaves the rest to the next task (bounded drain).
DELIVERY_DRAIN_ROUNDS = env.int("DELIVERY_DRAIN_ROUNDS", default=10)
# Pushes of one org that may run at once on different workers (a backlog is shared out;
# Salesforce limits each org's concurrent requests, so keep it small).
DELIVERY_PUSHES_PER_CONNECTION = env.int("DELIVERY_PUSHES_PER_CONNECTION", default=4)
if DELIVERY_PUSHES_PER_CONNECTION < 1:
    raise ImproperlyConfigured("DELIVERY_PUSHES_PER_CONNECTION is at least 1.")
# A claim is a lease: a running push renews it every third of DELIVERY_LEASE_SECONDS, so
# a slow but alive push keeps it, while a dead worker's (or a lost database's) claims lapse
# and are taken back by the next sweep or push.
DELIVERY_LEASE_SECONDS = env.float("DELIVERY_LEASE_SECONDS", default=20.0)
if DELIVERY_LEASE_SECONDS < 1:
    raise ImproperlyConfigured("DELIVERY_LEASE_SECONDS is at least 1.")
# Waits before retry 1, 2, ... after a transient error (seconds, ±20 % jitter); after the
# last one the delivery fails. About a day in all.
DELIVERY_RETRY_DELAYS = [
    float(s)
    for s in env.list("DELIVERY_RETRY_DELAYS", default=[30, 120, 600, 1800, 7200, 21600, 43200])
]
if not DELIVERY_RETRY_DELAYS:
    raise ImproperlyConfigured("DELIVERY_RETRY_DELAYS needs at least one delay.")
# Stop sending for a connection above this share of its daily API limit, or on
# REQUEST_LIMIT_EXCEEDED, for DELIVERY_API_PAUSE_SECONDS at a time.
DELIVERY_API_USAGE_PAUSE_RATIO = env.float("DELIVERY_API_USAGE_PAUSE_RATIO", default=0.8)
DELIVERY_API_PAUSE_SECONDS = env.float("DELIVERY_API_PAUSE_SECONDS", default=900.0)

# --- Dashboard and alerts ----------------------------------------------------------
# The failed-posts dashboard, failure alerts and retention (integrations.dashboard).
# Payloads and attempts of sent deliveries are pruned after this many days; failed ones
# are kept until resolved.
DELIVERY_RETENTION_DAYS = env.int("DELIVERY_RETENTION_DAYS", default=30)
# While failures continue, tenant admins get at most one digest per this many minutes.
ALERT_DIGEST_MINUTES = env.int("ALERT_DIGEST_MINUTES", default=60)
# "Resend all matching" works through its deliveries in chunks of this size, one task each.
RESEND_JOB_CHUNK_SIZE = env.int("RESEND_JOB_CHUNK_SIZE", default=200)
if min(DELIVERY_RETENTION_DAYS, ALERT_DIGEST_MINUTES, RESEND_JOB_CHUNK_SIZE) < 1:
    raise ImproperlyConfigured(
        "DELIVERY_RETENTION_DAYS, ALERT_DIGEST_MINUTES and RESEND_JOB_CHUNK_SIZE must be >= 1."
    )

# --- Logging ---------------------------------------------------------------------
LOG_LEVEL = env.str("DJANGO_LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Request paths may hold a guest's manage-link token: redacted before any output.
    "filters": {"manage_tokens": {"()": "bookings.log_redaction.ManageTokenRedactor"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["manage_tokens"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"filters": ["manage_tokens"]},
        "django.server": {"filters": ["manage_tokens"]},
    },
}

STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise expects it to exist
