"""Salesforce connection actions for staff: connect (OAuth), callback, test, disconnect.

All but the callback act on one connection, found through the user's tenants (404
otherwise). The OAuth state and PKCE verifier live in the user's session until the
callback; a callback that does not match them is refused and stores nothing.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from integrations.connection import health, selectors, services
from integrations.connection.forms import ConnectForm
from integrations.models import SalesforceConnection
from integrations.salesforce import oauth
from integrations.salesforce.diagnostics import Diagnosis, diagnose
from integrations.salesforce.errors import SalesforceError, error_from_oauth

PENDING_KEY = "salesforce_oauth_pending"
REFUSED = "flow_not_verified"


def _change_url(connection: SalesforceConnection) -> str:
    return reverse("admin:integrations_salesforceconnection_change", args=[connection.pk])


def _page(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    return render(request, template, {**admin.site.each_context(request), **context}, status=status)


@require_http_methods(["GET", "POST"])
def connection_connect(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: choose Production / Sandbox / My Domain. POST: send the browser to Salesforce."""
    connection = selectors.connection_get_for_user(request.user, pk)
    initial = {}
    if connection.login_host in (oauth.PRODUCTION_HOST, oauth.SANDBOX_HOST):
        initial["environment"] = (
            "production" if connection.login_host == oauth.PRODUCTION_HOST else "sandbox"
        )
    elif connection.login_host:
        initial = {"environment": "custom", "custom_host": connection.login_host}
    form = ConnectForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        login_host = form.cleaned_data["login_host"]
        try:
            start = oauth.authorization_start(login_host=login_host)
        except SalesforceError as error:
            messages.error(request, _diagnosis_text(diagnose(error.code, error.message)))
            return redirect(_change_url(connection))
        request.session[PENDING_KEY] = {
            "state": start.state,
            "code_verifier": start.code_verifier,
            "connection_id": connection.pk,
            "login_host": login_host,
        }
        return HttpResponseRedirect(start.url)
    return _page(
        request,
        "integrations/connect.html",
        {
            "title": f"Connect Salesforce for {connection.tenant}",
            "connection": connection,
            "form": form,
            "callback_url": oauth.callback_url(),
            "change_url": _change_url(connection),
        },
    )


@require_GET
def oauth_callback(request: HttpRequest) -> HttpResponse:
    """Where Salesforce sends the browser back (the Connected App's Callback URL)."""
    if not (request.user.is_authenticated and request.user.is_active and request.user.is_staff):
        return _refused(request, "You are not signed in to LeadSync as staff.")
    pending = request.session.pop(PENDING_KEY, None)  # single use, whatever happens next
    state = request.GET.get("state", "")
    if not pending or not state or not constant_time_compare(state, pending["state"]):
        return _refused(request, "The answer from Salesforce does not belong to this sign-in.")
    connection = selectors.connection_get_for_user(request.user, pending["connection_id"])
    if "error" in request.GET:
        error = error_from_oauth(request.GET["error"], request.GET.get("error_description"))
        return _connect_failed(request, connection, error)
    try:
        grant = oauth.authorization_complete(
            login_host=pending["login_host"],
            callback_full_url=request.build_absolute_uri(),
            state=pending["state"],
            code_verifier=pending["code_verifier"],
        )
    except SalesforceError as error:
        return _connect_failed(request, connection, error)
    previous_org = connection.sf_org_id
    connection = services.connection_complete_oauth(
        connection=connection, login_host=pending["login_host"], grant=grant
    )
    if previous_org and previous_org != connection.sf_org_id:
        messages.warning(
            request,
            f"This is a different Salesforce org ({connection.sf_org_id}, before: "
            f"{previous_org}). Its fields will be read again: open each Salesforce target "
            "and check its mappings before bookings go out.",
        )
    error = health.connection_test(connection=connection)
    if error is None:
        messages.success(request, "Salesforce is connected.")
    else:
        diagnosis = diagnose(error.code, error.message, connected_at=connection.connected_at)
        messages.error(request, "Connected, but the check failed: " + _diagnosis_text(diagnosis))
    return redirect(_change_url(connection))


def _connect_failed(
    request: HttpRequest, connection: SalesforceConnection, error: SalesforceError
) -> HttpResponse:
    diagnosis = diagnose(error.code, error.message)
    if diagnosis is not None and diagnosis.key == REFUSED:  # state / PKCE: store nothing
        return _refused(request, f"{diagnosis.title} {diagnosis.explanation}", error=error)
    services.connection_record_connect_failure(connection=connection, error=error)
    messages.error(request, "Salesforce was not connected: " + _diagnosis_text(diagnosis))
    return redirect(_change_url(connection))


def _refused(request: HttpRequest, reason: str, *, error: SalesforceError | None = None):
    return _page(
        request,
        "integrations/oauth_refused.html",
        {"title": "Salesforce sign-in refused", "reason": reason, "error": error},
        status=400,
    )


@require_POST
def connection_test(request: HttpRequest, pk: int) -> HttpResponse:
    connection = selectors.connection_get_for_user(request.user, pk)
    error = health.connection_test(connection=connection)
    if error is None:
        messages.success(request, "The connection works: Salesforce answered every check.")
    else:
        connection.refresh_from_db()
        diagnosis = diagnose(error.code, error.message, connected_at=connection.connected_at)
        messages.error(request, "The connection test failed: " + _diagnosis_text(diagnosis))
    return redirect(_change_url(connection))


@require_http_methods(["GET", "POST"])
def connection_disconnect(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: ask first (it stops every booking from reaching Salesforce). POST: revoke."""
    connection = selectors.connection_get_for_user(request.user, pk)
    if request.method == "GET":
        return _page(
            request,
            "integrations/disconnect.html",
            {
                "title": f"Disconnect Salesforce for {connection.tenant}?",
                "connection": connection,
                "change_url": _change_url(connection),
            },
        )
    error = services.connection_disconnect(connection=connection)
    if error is None:
        messages.success(request, "Salesforce is disconnected; LeadSync's access was revoked.")
    else:
        messages.warning(
            request,
            "Disconnected here, but Salesforce could not be told "
            f"({error.code}): revoke LeadSync's access in Salesforce under Setup → Connected "
            "Apps OAuth Usage.",
        )
    return redirect(_change_url(connection))


def _diagnosis_text(diagnosis: Diagnosis | None) -> str:
    if diagnosis is None:
        return ""
    text = f"{diagnosis.title} {diagnosis.action}"
    if diagnosis.setting:
        text += f" Salesforce setting: {diagnosis.setting}"
        if diagnosis.current or diagnosis.required:
            text += f" ({diagnosis.current or 'current value'} → {diagnosis.required})"
        text += "."
    return text


# Staff only, CSRF-protected, never cached: the admin's own wrapper.
connection_connect_view = admin.site.admin_view(connection_connect)
connection_test_view = admin.site.admin_view(connection_test)
connection_disconnect_view = admin.site.admin_view(connection_disconnect)
