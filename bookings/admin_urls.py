"""Admin routes that must win over admin.site.urls (included ahead of it)."""

from django.contrib import admin
from django.urls import path

from bookings.admin_scoping import view_on_site

urlpatterns = [
    # The admin's "View on site" redirect, tenant-scoped (Django's checks only is_staff).
    path(
        "r/<int:content_type_id>/<path:object_id>/",
        admin.site.admin_view(view_on_site),
        name="view_on_site",
    ),
]
