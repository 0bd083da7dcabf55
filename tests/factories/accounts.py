"""Factories of accounts."""

from __future__ import annotations

import factory

from yigongti.accounts.models import Role, User

PASSWORD = "correct-horse-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Sequence(lambda n: f"用户{n}")
    role = Role.VILLAGE_DOCTOR
    password = factory.django.Password(PASSWORD)
