"""Forms of the reader flow."""

from django import forms

from surveys.models import LEVELS


class DemographicsForm(forms.Form):
    """The optional questions on the welcome page."""

    years_experience = forms.IntegerField(
        label="Years of experience in radiology", required=False, min_value=0, max_value=70
    )
    level = forms.ChoiceField(label="Level", required=False, choices=[("", "Prefer not to say")] + LEVELS)
