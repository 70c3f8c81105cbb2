"""URL wiring. Domain URLs live in their apps; this file only includes them."""

from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView

# The admin's own login form is replaced by allauth's (rate limits, MFA); a logged-in
# non-staff user gets 403 instead of the admin login form.
admin.site.login = secure_admin_login(admin.site.login)
admin.site.site_header = "LeadSync"
admin.site.site_title = "LeadSync"
admin.site.index_title = "Bookings to Salesforce"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    # Browsers ask for /favicon.ico whatever the page says; the icon is a static file, its
    # URL looked up per request (in production the manifest exists only after collectstatic).
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("leadsync/favicon.svg"))),
    path("admin/", include("bookings.admin_urls")),  # must win over admin.site.urls
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("salesforce/", include("integrations.connection.urls")),
    path("api/v1/", include("bookings.api_urls")),
    # Public booking pages, /<tenant-slug>/<page-slug>/: keep last.
    path("", include("bookings.urls")),
]
