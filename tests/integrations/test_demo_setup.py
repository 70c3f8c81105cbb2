import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from bookings.models import BookingPage, Membership, Question, Tenant

pytestmark = pytest.mark.django_db


def counts():
    return (
        Tenant.objects.count(),
        get_user_model().objects.count(),
        Membership.objects.count(),
        BookingPage.objects.count(),
        Question.objects.count(),
    )


def test_demo_setup_is_idempotent(capsys):
    call_command("demo_setup")
    first = counts()
    call_command("demo_setup")
    assert counts() == first == (1, 1, 1, 1, 5)
    out = capsys.readouterr().out
    assert "Login:    demo" in out and "Password: leadsync-demo" in out


def test_demo_login_works(client):
    call_command("demo_setup")
    response = client.post("/accounts/login/", {"login": "demo", "password": "leadsync-demo"})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_demo_page_is_bookable_on_weekdays_with_varied_questions(client):
    call_command("demo_setup")
    page = BookingPage.objects.get(tenant__slug="demo", slug="intro-call")
    assert page.weekdays == [0, 1, 2, 3, 4]
    assert (page.day_start.hour, page.day_end.hour) == (9, 17)
    questions = {q.key: q for q in page.questions.all()}
    assert questions["company"].required and questions["company"].kind == "text"
    assert questions["meeting_type"].choices == ["Demo", "Consultation", "Support"]
    assert {"region", "phone"} <= set(questions)
    assert client.get("/demo/intro-call/").status_code == 200
