"""Help texts show what they say (issue 14, defect 5): the admin renders help texts as
HTML, so a placeholder like <tenant> must arrive escaped or the browser eats it."""

import pytest
from django.urls import reverse

from tests.factories import BookingPageFactory

pytestmark = pytest.mark.django_db


def test_page_slug_help_shows_the_url_pattern(tenant_a, admin_a, client_for):
    page = BookingPageFactory(tenant=tenant_a)
    client = client_for(admin_a)
    for url in (
        reverse("admin:bookings_bookingpage_add"),
        reverse("admin:bookings_bookingpage_change", args=[page.pk]),
    ):
        html = client.get(url).content.decode()
        assert "/&lt;tenant&gt;/&lt;slug&gt;/" in html
        assert "/<tenant>/<slug>/" not in html


def test_tenant_slug_help_shows_the_url_pattern(tenant_a, admin_a, client_for):
    html = (
        client_for(admin_a)
        .get(reverse("admin:bookings_tenant_change", args=[tenant_a.pk]))
        .content.decode()
    )
    assert "/&lt;slug&gt;/&lt;page&gt;/" in html and "/<slug>/<page>/" not in html
