"""The GOV.UK widget tag writes text-like inputs itself: exactly what Django's templates would."""

import pytest
from django import forms

from children.forms import ReasonForm, SearchForm
from signposting.templatetags.govuk_forms import _plain_input, govuk_widget


class Every(forms.Form):
    text = forms.CharField(max_length=10, help_text="A hint")
    email = forms.EmailField(required=False)
    password = forms.CharField(widget=forms.PasswordInput(render_value=True))
    number = forms.IntegerField(min_value=1, max_value=9)
    url = forms.URLField(
        assume_scheme="https", disabled=True, initial="https://example.org/?a=1&b=<2>"
    )
    attrs = forms.CharField(widget=forms.TextInput(attrs={"autocomplete": "off", "id": "own"}))


@pytest.mark.parametrize(
    "form",
    [
        Every(),
        Every(data={"text": 'x" onmouseover="alert(1)', "email": "not-an-email", "number": "12"}),
        SearchForm(),
        SearchForm(data={"family_name": "O'Brien <b>", "nhs_number": "12", "postcode": "!!"}),
    ],
    ids=["empty", "bound-with-errors", "search", "search-bound"],
)
def test_plain_inputs_match_djangos_own_rendering(form):
    plain = [name for name, field in form.fields.items() if field.widget.input_type != "radio"]
    assert plain
    for name in plain:
        field = form[name]
        if field.widget_type not in ("text", "email", "password", "number", "url"):
            continue
        attrs = {"class": "govuk-input", "aria-describedby": "hint"}
        assert _plain_input(field, dict(attrs)) == field.as_widget(attrs=dict(attrs)), name


def test_other_widgets_still_go_through_django():
    form = ReasonForm(data={})
    html = govuk_widget(form["details"])
    assert html.startswith("<textarea") and "govuk-textarea" in html


class Choices(forms.Form):
    plain = forms.ChoiceField(choices=[("", "Any"), ("x<", "X & y"), ("b", "B")], required=False)
    numbers = forms.TypedChoiceField(choices=[(1, "One"), (2, "Two")], coerce=int)


@pytest.mark.parametrize(
    "data",
    [None, {"plain": "b", "numbers": "2"}, {"plain": "zz", "numbers": "9"}],
    ids=["empty", "chosen", "invalid"],
)
def test_plain_selects_match_djangos_own_rendering(data):
    from audit.oversight.forms import EventFilterForm, FlagFilterForm
    from signposting.templatetags.govuk_forms import _plain_select

    forms_ = [
        Choices(data=data),
        EventFilterForm(
            data={"action": (data or {}).get("plain", "")},
            areas=[("E09000007", "Camden & <Islington>")],
        ),
        FlagFilterForm(data={"rule": "volume"}, areas=[("E09000033", "Westminster & <Co>")]),
    ]
    for form in forms_:
        form.is_valid()
        for name, field in form.fields.items():
            if type(field.widget) is not forms.Select:
                continue
            attrs = {"class": "govuk-select", "aria-describedby": "hint"}
            bound = form[name]
            assert _plain_select(bound, dict(attrs)) == bound.as_widget(attrs=dict(attrs)), name
