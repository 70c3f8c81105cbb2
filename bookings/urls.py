"""Public booking pages. Included last at "" by leadsync/urls.py."""

from django.urls import path

from bookings import manage_views, views

app_name = "bookings"

urlpatterns = [
    # One dot in the name: no tenant slug can look like it.
    path("zones.json", views.time_zones, name="zones"),
    path("<slug:tenant_slug>/<slug:page_slug>/", views.booking_page, name="page"),
    path("<slug:tenant_slug>/<slug:page_slug>/days.json", views.booking_days, name="days"),
    path("<slug:tenant_slug>/<slug:page_slug>/times.json", views.booking_times, name="times"),
    path(
        "<slug:tenant_slug>/<slug:page_slug>/time-zone/",
        views.zone_chooser,
        name="zone_chooser",
    ),
    path(
        "<slug:tenant_slug>/<slug:page_slug>/booked/<uuid:uid>/",
        views.booking_confirmation,
        name="booked",
    ),
    path(
        "<slug:tenant_slug>/<slug:page_slug>/booked/<uuid:uid>.ics",
        views.booking_ics_download,
        name="ics",
    ),
    path(
        "<slug:tenant_slug>/<slug:page_slug>/manage/<str:token>/",
        manage_views.booking_manage,
        name="manage",
    ),
    path(
        "<slug:tenant_slug>/<slug:page_slug>/manage/<str:token>/days.json",
        manage_views.manage_days,
        name="manage_days",
    ),
    path(
        "<slug:tenant_slug>/<slug:page_slug>/manage/<str:token>/times.json",
        manage_views.manage_times,
        name="manage_times",
    ),
    path(
        "<slug:tenant_slug>/<slug:page_slug>/manage/<str:token>/time-zone/",
        manage_views.manage_zone_chooser,
        name="manage_zone_chooser",
    ),
]
