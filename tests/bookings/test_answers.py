"""Question definitions become form fields that render, validate and type the answers."""

import pytest
from django.core.exceptions import ValidationError

from bookings.answers import AnswersForm, answers_clean, guest_clean
from bookings.models import Question
from tests.factories import BookingPageFactory, QuestionFactory

pytestmark = pytest.mark.django_db

Kind = Question.Kind


@pytest.fixture
def booking_page():
    return BookingPageFactory()


def ask(booking_page, **question):
    return QuestionFactory(page=booking_page, key="q", label="The question", **question)


def clean(booking_page, value):
    return answers_clean(booking_page.questions.all(), {"q": value})


def errors(booking_page, value) -> list[str]:
    with pytest.raises(ValidationError) as raised:
        clean(booking_page, value)
    return raised.value.message_dict["answers.q"]


RENDERED = {
    Kind.TEXT: 'type="text"',
    Kind.TEXTAREA: "<textarea",
    Kind.EMAIL: 'type="email"',
    Kind.PHONE: 'type="tel"',
    Kind.NUMBER: 'type="number"',
    Kind.DATE: 'type="date"',
    Kind.CHOICE: 'type="radio"',
    Kind.MULTICHOICE: 'type="checkbox"',
    Kind.CHECKBOX: 'type="checkbox"',
}


@pytest.mark.parametrize("kind", Kind.values)
def test_every_kind_renders_its_input_with_label_help_and_required_marker(booking_page, kind):
    choices = ["Red", "Green"] if kind in Question.CHOICE_KINDS else []
    ask(booking_page, kind=kind, required=True, choices=choices, help_text="Some help")
    html = str(AnswersForm(questions=booking_page.questions.all())["q"].as_field_group())
    assert RENDERED[kind] in html
    assert "The question" in html and "Some help" in html
    assert "required" in html
    assert set(RENDERED) == set(Kind.values)


@pytest.mark.parametrize("kind", Kind.values)
def test_required_question_refuses_a_blank_answer(booking_page, kind):
    choices = ["Red"] if kind in Question.CHOICE_KINDS else []
    ask(booking_page, kind=kind, required=True, choices=choices)
    blank = False if kind == Kind.CHECKBOX else ([] if kind == Kind.MULTICHOICE else "")
    assert errors(booking_page, blank) == ["This field is required."]


@pytest.mark.parametrize(
    ("kind", "stored"),
    [
        (Kind.TEXT, None),
        (Kind.TEXTAREA, None),
        (Kind.EMAIL, None),
        (Kind.PHONE, None),
        (Kind.NUMBER, None),
        (Kind.DATE, None),
        (Kind.CHOICE, None),
        (Kind.MULTICHOICE, []),
        (Kind.CHECKBOX, False),
    ],
)
def test_optional_question_left_blank_is_stored_as_documented(booking_page, kind, stored):
    choices = ["Red"] if kind in Question.CHOICE_KINDS else []
    ask(booking_page, kind=kind, choices=choices)
    assert answers_clean(booking_page.questions.all(), {}) == {"q": stored}


@pytest.mark.parametrize(
    ("kind", "sent", "stored"),
    [
        (Kind.TEXT, "  Acme Ltd ", "Acme Ltd"),
        (Kind.TEXTAREA, "line 1\nline 2", "line 1\nline 2"),
        (Kind.EMAIL, "ann@example.com", "ann@example.com"),
        (Kind.PHONE, "+44 20 7946 0958", "+442079460958"),
        (Kind.PHONE, "0049 30 901820", "+4930901820"),
        (Kind.NUMBER, "42", 42),
        (Kind.NUMBER, "-2.5", -2.5),
        (Kind.NUMBER, 7, 7),
        (Kind.NUMBER, "3.0", 3),
        (Kind.DATE, "2030-02-28", "2030-02-28"),
        (Kind.CHECKBOX, "on", True),
        (Kind.CHECKBOX, True, True),
        (Kind.CHECKBOX, "false", False),
    ],
)
def test_answers_are_stored_typed(booking_page, kind, sent, stored):
    ask(booking_page, kind=kind)
    result = clean(booking_page, sent)["q"]
    assert result == stored
    assert type(result) is type(stored)


def test_choice_answers_are_stored_as_str_and_list_of_str(booking_page):
    QuestionFactory(page=booking_page, key="one", kind=Kind.CHOICE, choices=["Demo", "Support"])
    QuestionFactory(page=booking_page, key="many", kind=Kind.MULTICHOICE, choices=["A", "B", "C"])
    answers = {"one": "Support", "many": ["A", "C"]}
    assert answers_clean(booking_page.questions.all(), answers) == answers


@pytest.mark.parametrize(
    ("kind", "sent", "message"),
    [
        (Kind.EMAIL, "not-an-email", "Enter a valid email address."),
        (Kind.PHONE, "12345", "Enter a valid phone number with its country code"),
        (Kind.PHONE, "+44 20 79", "Enter a valid phone number with its country code"),
        (Kind.NUMBER, "twelve", "Enter a number."),
        (Kind.NUMBER, "NaN", "Enter a number."),
        (Kind.NUMBER, "1e400", "Enter a number."),
        (Kind.NUMBER, True, "Enter a number."),
        (Kind.DATE, "28/02/2030", "Enter a valid date."),
        (Kind.DATE, "2030-02-30", "Enter a valid date."),
    ],
)
def test_malformed_answers_are_refused_with_a_clear_message(booking_page, kind, sent, message):
    ask(booking_page, kind=kind)
    assert errors(booking_page, sent)[0].startswith(message)


def test_choice_outside_the_definition_is_refused(booking_page):
    ask(booking_page, kind=Kind.CHOICE, choices=["Demo", "Support"])
    assert "Select a valid choice" in errors(booking_page, "Sales")[0]


def test_multichoice_refuses_unknown_items_and_non_lists(booking_page):
    ask(booking_page, kind=Kind.MULTICHOICE, choices=["A", "B"])
    assert "Select a valid choice" in errors(booking_page, ["A", "Z"])[0]
    assert errors(booking_page, "A") == ["Enter a list of values."]


@pytest.mark.parametrize(("kind", "default"), [(Kind.TEXT, 255), (Kind.TEXTAREA, 5000)])
def test_text_length_is_limited_by_max_length_or_a_default(booking_page, kind, default):
    ask(booking_page, kind=kind)
    assert clean(booking_page, "x" * default)["q"] == "x" * default
    assert f"at most {default} characters" in errors(booking_page, "x" * (default + 1))[0]


def test_custom_max_length_is_enforced(booking_page):
    ask(booking_page, kind=Kind.TEXT, max_length=5)
    assert clean(booking_page, "abcde")["q"] == "abcde"
    assert "at most 5 characters" in errors(booking_page, "abcdef")[0]


def test_many_choices_render_as_a_drop_down(booking_page):
    ask(booking_page, kind=Kind.CHOICE, choices=[f"Option {n}" for n in range(10)])
    html = str(AnswersForm(questions=booking_page.questions.all())["q"])
    assert "<select" in html and "Option 9" in html


def test_unknown_answer_keys_and_non_objects_are_refused(booking_page):
    ask(booking_page, kind=Kind.TEXT)
    with pytest.raises(ValidationError) as raised:
        answers_clean(booking_page.questions.all(), {"q": "ok", "typo": "x"})
    assert raised.value.message_dict == {"answers": ["Unknown question: typo."]}
    with pytest.raises(ValidationError) as raised:
        answers_clean(booking_page.questions.all(), ["q", "ok"])
    assert "answers" in raised.value.message_dict


def test_cleaned_answers_validate_again_unchanged(booking_page):
    """The page form's output goes through the service's validation a second time."""
    for key, kind in [
        ("p", Kind.PHONE),
        ("n", Kind.NUMBER),
        ("d", Kind.DATE),
        ("c", Kind.CHECKBOX),
    ]:
        QuestionFactory(page=booking_page, key=key, kind=kind)
    questions = booking_page.questions.all()
    once = answers_clean(
        questions, {"p": "+1 212 555 0100", "n": "1.5", "d": "2030-01-01", "c": "on"}
    )
    assert answers_clean(questions, once) == once


def test_guest_needs_name_and_valid_email_and_a_known_zone():
    assert guest_clean(name=" Ann ", email="ann@example.com", timezone="")["name"] == "Ann"
    with pytest.raises(ValidationError) as raised:
        guest_clean(name="", email="nope", timezone="Mars/Olympus")
    assert set(raised.value.message_dict) == {"name", "email", "timezone"}
