"""Forms of the connection pages."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from integrations.salesforce import oauth


class ConnectForm(forms.Form):
    ENVIRONMENTS = [
        ("production", f"Production ({oauth.PRODUCTION_HOST})"),
        ("sandbox", f"Sandbox ({oauth.SANDBOX_HOST})"),
        ("custom", "My Domain (custom login host)"),
    ]
    environment = forms.ChoiceField(
        choices=ENVIRONMENTS, widget=forms.RadioSelect, initial="production"
    )
    custom_host = forms.CharField(
        required=False,
        label="Login host",
        help_text="e.g. acme.my.salesforce.com",
        widget=forms.TextInput(attrs={"size": 40}),
    )

    def clean(self) -> dict:
        data = super().clean()
        environment = data.get("environment")
        if environment == "production":
            data["login_host"] = oauth.PRODUCTION_HOST
        elif environment == "sandbox":
            data["login_host"] = oauth.SANDBOX_HOST
        elif environment == "custom":
            try:
                data["login_host"] = oauth.login_host_clean(data.get("custom_host", ""))
            except ValidationError as exc:
                self.add_error("custom_host", exc)
        return data
