"""The booking API, included at "api/v1/" by leadsync/urls.py."""

from django.urls import path

from bookings import api

app_name = "bookings_api"

urlpatterns = [
    path("bookings/<uuid:uid>/cancel", api.booking_cancel_view, name="booking_cancel"),
    path("bookings/<uuid:uid>/reschedule", api.booking_reschedule_view, name="booking_reschedule"),
    path("<slug:tenant_slug>/<slug:page_slug>/bookings", api.booking_create, name="bookings"),
    path("<slug:tenant_slug>/<slug:page_slug>/slots", api.slot_list, name="slots"),
]
