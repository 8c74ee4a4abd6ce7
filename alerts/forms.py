from __future__ import annotations

from django import forms

from alerts.models import Subscription
from alerts.services.subscriptions import DEFAULT_LEAD, LEAD_CHOICES

DAY_NAMES = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)


class SubscribeForm(forms.Form):
    """The person's choices; the commute itself comes in the page's query fields."""

    email = forms.EmailField(
        label="Your email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    window_from = forms.TimeField(
        label="Leaving between", widget=forms.TimeInput(attrs={"type": "time"})
    )
    window_to = forms.TimeField(
        label="and", widget=forms.TimeInput(attrs={"type": "time"})
    )
    days = forms.TypedMultipleChoiceField(
        label="On",
        choices=list(enumerate(DAY_NAMES)),
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "choose at least one day"},
    )
    lead_minutes = forms.TypedChoiceField(
        label="Send the note",
        choices=[(m, f"{m} minutes before the window") for m in LEAD_CHOICES],
        coerce=int,
        initial=DEFAULT_LEAD,
    )
    cadence = forms.ChoiceField(
        label="How often",
        choices=Subscription.Cadence.choices,
        initial=Subscription.Cadence.DAILY,
        widget=forms.RadioSelect,
    )
