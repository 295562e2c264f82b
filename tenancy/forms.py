"""The login forms (the site's and the admin's): Django's, with the lockout of tenancy.logins."""

from __future__ import annotations

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm

from .logins import login_authenticate


class ThrottledLoginMixin:
    """AuthenticationForm.clean() through login_authenticate(); `lockout` is set when one
    refused the login (the view answers 429 with Retry-After)."""

    lockout = None

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is not None and password:
            result = login_authenticate(request=self.request, username=username, password=password)
            if result.lockout is not None:
                self.lockout = result.lockout
                raise forms.ValidationError(result.lockout.message, code="locked")
            self.user_cache = result.user
            if self.user_cache is None:
                raise self.get_invalid_login_error()
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


class LoginForm(ThrottledLoginMixin, AuthenticationForm):
    pass


class AdminLoginForm(ThrottledLoginMixin, AdminAuthenticationForm):
    pass
