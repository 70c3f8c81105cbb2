"""Public booking pages. Included last at "" by leadsync/urls.py."""

from django.urls import path

from bookings import manage_views, views

app_name = "bookings"

urlpatterns = [
    path("<slug:tenant_slug>/<slug:page_slug>/", views.booking_page, name="page"),
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
]
