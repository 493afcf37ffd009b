from django import forms
from django.contrib.auth.forms import AuthenticationForm, SetPasswordForm, UserCreationForm
from django.utils.translation import gettext_lazy as _

from accounts.models import Classroom, User, normalise_join_code


class JoinCodeField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Class join code"))
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault("help_text", _("Your teacher gives you this code, e.g. KX7P-4MRA."))
        super().__init__(**kwargs)
        self.widget.attrs.update(
            {"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        )

    def clean(self, value):
        code = normalise_join_code(super().clean(value) or "")
        classroom = Classroom.objects.active().filter(join_code=code, join_code_enabled=True).first()
        if classroom is None:
            # One message for unknown, turned-off and archived codes: a code reveals nothing.
            raise forms.ValidationError(
                _("That code does not match an open class. Check it with your teacher."),
                code="invalid_join_code",
            )
        return classroom


class LoginForm(AuthenticationForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # No autofocus: keyboard and screen-reader users start at the skip link, as on every page.
        self.fields["username"].widget.attrs.pop("autofocus", None)

    error_messages = {
        # The same words whether the user name exists or not.
        "invalid_login": _("That user name and password do not match. Check both and try again."),
        "inactive": _("That user name and password do not match. Check both and try again."),
    }


class StudentSignupForm(UserCreationForm):
    join_code = JoinCodeField()

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("join_code", "first_name", "last_name", "username")
        help_texts = {"username": _("Letters, digits and @ . + - _ only. You log in with it.")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["first_name"].required = True
        self.fields["username"].widget.attrs.pop("autofocus", None)
        # No email and no birth date: pupils' accounts hold as little as possible.
        # The code first: it is cleaned before the user name, which the checks below rely on.
        self.order_fields(["join_code", "first_name", "last_name", "username"])

    def _code_is_valid(self) -> bool:
        return "join_code" in self.cleaned_data

    def clean_username(self):
        # Until a valid join code is given, nothing is said about which user names exist:
        # otherwise anyone could test names against the sign-up form.
        if not self._code_is_valid():
            return self.cleaned_data.get("username")
        return super().clean_username()

    def validate_unique(self):
        if self._code_is_valid():
            super().validate_unique()

    def validate_constraints(self):
        if self._code_is_valid():
            super().validate_constraints()


class JoinClassForm(forms.Form):
    join_code = JoinCodeField()


class ChoosePasswordForm(SetPasswordForm):
    """A pupil's own password, replacing the one-time password a teacher gave them."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def clean_new_password1(self):
        password = self.cleaned_data["new_password1"]
        if password and self.user.check_password(password):
            raise forms.ValidationError(
                _("Choose a password of your own, not the one your teacher gave you."), code="same"
            )
        return password


class NotificationsForm(forms.ModelForm):
    """The user's own switch for the daily e-mail digest, and the address it goes to."""

    class Meta:
        model = User
        fields = ["email_digest", "email"]
        labels = {"email_digest": _("Send me a daily e-mail of what is new"), "email": _("E-mail address")}
        help_texts = {
            "email_digest": _("Only on days when something is new. Turn it off at any time here."),
            "email": _("Where the digest goes. Nobody else sees it."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].widget.attrs.update({"autocomplete": "email", "spellcheck": "false"})
        self.fields["email_digest"].label_suffix = ""  # a checkbox's label reads as a sentence

    def clean(self):
        data = super().clean()
        if data.get("email_digest") and not data.get("email") and "email" not in self.errors:
            self.add_error("email", _("Give an e-mail address for the digest, or leave it switched off."))
        return data
