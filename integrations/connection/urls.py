"""Salesforce connection URLs, mounted at /salesforce/. The callback path is fixed: the
Connected App registers {LEADSYNC_SITE_URL}/salesforce/oauth/callback/."""

from django.urls import path

from integrations.connection import views

app_name = "salesforce"

urlpatterns = [
    path("oauth/callback/", views.oauth_callback, name="oauth_callback"),
    path(
        "connections/<int:pk>/connect/",
        views.connection_connect_view,
        name="connection_connect",
    ),
    path("connections/<int:pk>/test/", views.connection_test_view, name="connection_test"),
    path(
        "connections/<int:pk>/disconnect/",
        views.connection_disconnect_view,
        name="connection_disconnect",
    ),
]
