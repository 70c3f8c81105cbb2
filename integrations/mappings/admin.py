"""Admin of "Post to Salesforce": one SyncTarget per page and object, its FieldMappings inline.

Field choices come from the cached describe (mapping_selectors.MappingContext); the page
never calls Salesforce, except "Refresh fields" and a first describe when a save needs one
that is not cached. Extra admin views (all staff-only, CSRF-protected, tenant-scoped):
refresh fields, make a question required (rule 5's one-click fix), preview a record, and
"the target of this booking page" (linked from the booking page).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import ngettext

from bookings.admin_a11y import LabelledTabularInline
from bookings.admin_scoping import TenantScopedAdmin, TenantScopedInlineMixin
from bookings.models import Booking, BookingPage, Question
from bookings.tenancy import scope_to_user
from integrations.connection.directory import org_directory
from integrations.mappings import selectors, services
from integrations.mappings.forms import (
    FieldMappingForm,
    FieldMappingFormSet,
    SyncTargetForm,
    problem_rows,
    problems_from_dicts,
)
from integrations.mappings.forms_write_back import WriteBackFieldForm, WriteBackFieldFormSet
from integrations.mappings.records import target_mapping_specs
from integrations.models import FieldMapping, SObjectSchema, SyncTarget, WriteBackField
from integrations.salesforce.errors import SalesforceError

CONTEXT_ATTR = "_leadsync_mapping_context"
KNOWN_OBJECTS = ("Lead", "Contact", "Account")


class FieldMappingInline(TenantScopedInlineMixin, LabelledTabularInline):
    model = FieldMapping
    form = FieldMappingForm
    formset = FieldMappingFormSet
    extra = 1
    fields = [
        "sf_field", "source_kind", "source_key", "constant_value", "accept_truncation",
        "write_policy",
    ]  # fmt: skip

    def get_queryset(self, request):
        # The record's fields; the meeting's own fields are mapped apart (applies_to).
        return super().get_queryset(request).filter(applies_to=FieldMapping.AppliesTo.PERSON)

    verbose_name = "Salesforce field"
    verbose_name_plural = "Salesforce fields (only fields the connected user may write)"


class WriteBackFieldInline(TenantScopedInlineMixin, LabelledTabularInline):
    model = WriteBackField
    form = WriteBackFieldForm
    formset = WriteBackFieldFormSet
    extra = 1
    fields = ["change", "applies_to", "sf_field", "value"]
    verbose_name = "write-back field"
    verbose_name_plural = (
        "Fields a change sets (cancelled, no-show, completed; only fields the connected "
        "user may update)"
    )


class ProblemsFilter(admin.SimpleListFilter):
    title = "schema check"
    parameter_name = "problems"

    def lookups(self, request, model_admin):
        return [("errors", "Mappings broken by the schema"), ("ok", "No errors")]

    def queryset(self, request, queryset):
        if self.value() not in ("errors", "ok"):
            return queryset
        broken = [t.pk for t in queryset if selectors.target_error_count(t)]
        if self.value() == "errors":
            return queryset.filter(pk__in=broken)
        return queryset.exclude(pk__in=broken)


@admin.register(SyncTarget)
class SyncTargetAdmin(TenantScopedAdmin):
    form = SyncTargetForm
    inlines = [FieldMappingInline, WriteBackFieldInline]
    list_display = [
        "page", "sobject", "enabled", "write_mode", "key_field", "mapping_count",
        "problems_display", "checked_at",
    ]  # fmt: skip
    list_filter = ["enabled", "write_mode", ProblemsFilter]
    list_select_related = ["page__tenant"]
    search_fields = ["page__title", "page__slug", "sobject"]
    change_form_template = "admin/integrations/synctarget/change_form.html"
    fieldsets = [
        (None, {"fields": ["page", "sobject", "enabled", "write_mode", "key_field"]}),
        (
            "The guest in Salesforce (Lead and Contact)",
            {
                "fields": [
                    "person_match", "duplicate_policy", "owner_policy", "owner_id",
                    "account_question",
                ],
                "description": "A booking first looks for the guest by email and updates "
                "the person it finds; otherwise it creates one.",
            },
        ),
        ("The meeting", {"fields": ["event_enabled", "event_subject"]}),
        ("Campaign", {"fields": ["campaign_id", "campaign_status"]}),
        (
            "When a booking changes (write-back)",
            {
                "fields": [
                    "reschedule_action", "cancel_action", "cancel_subject_prefix",
                    "cancel_reason_field",
                ],
                "description": "Cancellations, new times and outcomes are written back to "
                "the Event and the person the booking wrote, after the booking itself and in "
                "the order they happened. More fields a change sets are listed below.",
            },
        ),
    ]  # fmt: skip

    # -- list ------------------------------------------------------------------------------

    @admin.display(description="Mappings")
    def mapping_count(self, target: SyncTarget) -> int:
        return target.mappings.count()

    @admin.display(description="Schema check")
    def problems_display(self, target: SyncTarget) -> str:
        errors = selectors.target_error_count(target)
        if target.checked_at is None:
            return "—"
        if not errors:
            return "OK"
        return ngettext("%(count)d error", "%(count)d errors", errors) % {"count": errors}

    # -- the form and its rows, built from one MappingContext per request -------------------

    def mapping_context(self, request: HttpRequest, obj: SyncTarget | None):
        """The cached describe etc. for the target as shown (GET) or as posted (POST).

        On POST a describe that is not cached yet is fetched once (the save needs it).
        """
        cached = getattr(request, CONTEXT_ATTR, None)
        if cached is not None:
            return cached
        source = request.POST if request.method == "POST" else request.GET
        page = obj.page if obj is not None and obj.page_id else None
        if "page" in source:
            page = self._page_in_scope(request, source.get("page"), role=self.manage_role)
        sobject = (source.get("sobject") or (obj.sobject if obj else "") or "Lead").strip()
        write_mode = source.get("write_mode") or (obj.write_mode if obj else "upsert")
        context = selectors.mapping_context(page=page, sobject=sobject, write_mode=write_mode)
        if request.method == "POST" and context.connection and sobject and not context.schema:
            try:
                describe = services.schema_get(connection=context.connection, sobject=sobject)
            except SalesforceError as error:
                context.error = f"Salesforce could not describe {sobject}: {error.message}"
            else:
                context = selectors.mapping_context(
                    page=page, sobject=describe.get("name") or sobject, write_mode=write_mode
                )
        setattr(request, CONTEXT_ATTR, context)
        return context

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"context": self.mapping_context(request, obj)})

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, FieldMappingInline):
            kwargs["context"] = self.mapping_context(request, obj if obj and obj.pk else None)
        if isinstance(inline, WriteBackFieldInline):
            mapping = self.mapping_context(request, obj if obj and obj.pk else None)
            kwargs["context"] = selectors.write_back_context(
                page=mapping.page, sobject=mapping.sobject
            )
        return kwargs

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        services.targets_recheck(targets=[form.instance])  # clear flags the save fixed
        for formset in formsets:
            for warning in getattr(formset, "warnings", []):
                self.message_user(request, f"{warning.message} {warning.fix}", messages.WARNING)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        mapping = self.mapping_context(request, obj)
        context.update(self._panel_context(request, obj, mapping))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _panel_context(self, request: HttpRequest, obj: SyncTarget | None, mapping) -> dict:
        panel: dict[str, Any] = {
            "mapping": mapping,
            "next_url": request.get_full_path(),
            "known_objects": self._known_objects(mapping),
        }
        if obj is not None and obj.pk:
            specs = target_mapping_specs(obj, questions=mapping.questions)
            panel["stored_problems"] = problem_rows(
                problems_from_dicts(obj.problems), specs, mapping.questions
            )
            if request.method == "GET":
                panel["current_warnings"] = problem_rows(
                    selectors.target_warnings(obj, mapping), specs, mapping.questions
                )
            panel["unused_url_keys"] = selectors.target_unused_url_keys(obj)
            panel["url_mappings"] = [s.sf_field for s in specs if s.source_kind == "url_param"]
        return panel

    @staticmethod
    def _known_objects(mapping) -> list[str]:
        names = set(KNOWN_OBJECTS)
        if mapping.connection is not None:
            names.update(
                SObjectSchema.objects.filter(connection=mapping.connection).values_list(
                    "sobject", flat=True
                )
            )
        return sorted(names)

    # -- extra views -------------------------------------------------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "refresh-fields/",
                view(self.refresh_fields_view),
                name="integrations_synctarget_refresh",
            ),
            path(
                "question/<int:question_id>/require/",
                view(self.question_require_view),
                name="integrations_synctarget_question_require",
            ),
            path(
                "for-page/<int:page_id>/",
                view(self.for_page_view),
                name="integrations_synctarget_for_page",
            ),
            path(
                "<int:pk>/preview/", view(self.preview_view), name="integrations_synctarget_preview"
            ),
            *super().get_urls(),
        ]

    def _page_in_scope(self, request: HttpRequest, raw: Any, *, role: str | None):
        try:
            pk = int(raw)
        except (TypeError, ValueError):
            return None
        pages = scope_to_user(BookingPage.objects.select_related("tenant"), request.user, role=role)
        return pages.filter(pk=pk).first()

    def _back(self, request: HttpRequest, fallback: str) -> HttpResponseRedirect:
        target = request.POST.get("next") or request.GET.get("next") or ""
        safe = url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
        return HttpResponseRedirect(target if safe else fallback)

    def refresh_fields_view(self, request: HttpRequest) -> HttpResponse:
        """POST page + sobject (the form's own fields): describe the object again."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        page = self._page_in_scope(request, request.POST.get("page"), role=self.manage_role)
        if page is None:
            raise PermissionDenied("Choose one of your booking pages first.")
        sobject = (request.POST.get("sobject") or "Lead").strip()
        connection = selectors.connection_for_page(page)
        fallback = reverse("admin:integrations_synctarget_changelist")
        if connection is None:
            self.message_user(request, "Connect Salesforce first.", messages.ERROR)
            return self._back(request, fallback)
        try:
            schema = services.schema_refresh(connection=connection, sobject=sobject)
            if schema.sobject in ("Lead", "Contact"):  # the meeting's fields: write-backs
                services.schema_refresh(connection=connection, sobject="Event")
            org_directory(connection, refresh=True)  # users, queues, campaigns for the pickers
        except SalesforceError as error:
            self.message_user(
                request,
                f"Salesforce could not describe {sobject}: {error.code} {error.message}",
                messages.ERROR,
            )
            return self._back(request, fallback)
        broken = [
            t
            for t in SyncTarget.objects.filter(page__tenant=page.tenant, sobject=schema.sobject)
            if selectors.target_error_count(t)
        ]
        text = f"Fields of {schema.sobject} refreshed from Salesforce."
        if broken:
            text += f" {len(broken)} target(s) have mappings the schema now breaks: see below."
        self.message_user(request, text, messages.WARNING if broken else messages.SUCCESS)
        return self._back(request, fallback)

    def question_require_view(self, request: HttpRequest, question_id: int) -> HttpResponse:
        """POST: make the question required (rule 5's one-click fix)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        questions = scope_to_user(Question.objects.all(), request.user, role=self.manage_role)
        question = get_object_or_404(questions, pk=question_id)
        services.question_make_required(question=question)
        text = f"Question “{question.label}” is now required: guests must answer it."
        if "application/json" in request.headers.get("Accept", ""):
            # From the mapping page's script: the unsaved form stays as it is.
            return JsonResponse({"question": question.pk, "key": question.key, "message": text})
        self.message_user(
            request, f"{text} Save the mappings again if they were refused.", messages.SUCCESS
        )
        page_url = reverse("admin:bookings_bookingpage_change", args=[question.page_id])
        return self._back(request, page_url)

    def for_page_view(self, request: HttpRequest, page_id: int) -> HttpResponse:
        """The booking page's Salesforce target: its change page, or the add form."""
        page = self._page_in_scope(request, page_id, role=None)
        if page is None:
            raise PermissionDenied
        targets = list(SyncTarget.objects.filter(page=page).values_list("pk", flat=True))
        if len(targets) == 1:
            return HttpResponseRedirect(
                reverse("admin:integrations_synctarget_change", args=[targets[0]])
            )
        if targets:
            url = reverse("admin:integrations_synctarget_changelist")
            return HttpResponseRedirect(f"{url}?page__id__exact={page.pk}")
        return HttpResponseRedirect(
            reverse("admin:integrations_synctarget_add") + f"?page={page.pk}"
        )

    def preview_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The record a booking would produce: ?booking=<uid>, ?sample=1, or the latest;
        ?format=json for the bare JSON."""
        target = self.get_object(request, str(pk))
        if target is None or not self.has_view_permission(request, target):
            raise PermissionDenied
        booking = None
        if request.GET.get("booking"):
            try:
                uid = uuid.UUID(request.GET["booking"])
            except ValueError:
                raise Http404("No booking has this id.") from None
            booking = get_object_or_404(Booking.objects.filter(page=target.page), uid=uid)
        preview = selectors.target_preview(
            target=target, booking=booking, sample=bool(request.GET.get("sample"))
        )
        if preview.person is not None and preview.booking and request.GET.get("lookup"):
            try:  # asked for: one query to Salesforce, for this guest's email
                preview.person.lookup = services.guest_lookup(
                    target=target, email=preview.booking.guest_email
                )
            except SalesforceError as error:
                preview.person.lookup = f"Salesforce did not answer: {error.message or error.code}"
        if request.GET.get("format") == "json":
            return JsonResponse(preview.as_dict(), json_dumps_params={"indent": 2})
        context = {
            **self.admin_site.each_context(request),
            "title": f"Record preview: {target}",
            "opts": self.opts,
            "target": target,
            "preview": preview,
            "preview_json": json.dumps(preview.as_dict(), indent=2, ensure_ascii=False),
        }
        return render(request, "integrations/mapping/preview.html", context)
