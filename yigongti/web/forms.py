"""Forms of the web UI shell."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from yigongti.core.errors import DomainError


class LoginForm(AuthenticationForm):
    """Django's sign-in form that says exactly why a sign-in failed.

    The authentication backend leaves the :class:`DomainError` (wrong password, account locked
    for N minutes) on ``request.ygt_auth_error``; its message replaces Django's generic one.
    """

    username = forms.CharField(
        label=_("用户名"), max_length=150,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    password = forms.CharField(
        label=_("密码"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def get_invalid_login_error(self) -> ValidationError:
        error = getattr(self.request, "ygt_auth_error", None)
        if isinstance(error, DomainError):
            return ValidationError(str(error), code=error.code)
        return ValidationError(_("用户名或密码错误。"), code="invalid_login")
