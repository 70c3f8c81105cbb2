import pytest
from django.core.exceptions import ValidationError

from bookings.models import reserved_url_prefixes
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("slug", ["admin", "accounts", "api", "salesforce", "static"])
def test_tenant_slug_may_not_shadow_the_sites_own_urls(slug):
    tenant = TenantFactory.build(slug=slug, name="X")
    with pytest.raises(ValidationError) as raised:
        tenant.full_clean()
    assert "slug" in raised.value.message_dict


def test_reserved_prefixes_come_from_the_url_configuration():
    assert {"admin", "accounts", "api", "salesforce"} <= reserved_url_prefixes()
    assert "acme" not in reserved_url_prefixes()


def test_ordinary_slug_is_accepted():
    TenantFactory.build(slug="acme", name="Acme").full_clean()
