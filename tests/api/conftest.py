"""Fixtures of the JSON API tests: token clients for the MiniCounty's users."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from tests.conftest import MiniCounty
from yigongti.accounts.models import User
from yigongti.accounts.services import token_create

API = "/api/v1"


class TokenClient:
    """A test client that sends ``Authorization: Bearer <key>`` of one user on every request."""

    def __init__(self, user: User, **headers: str) -> None:
        self.user = user
        self.key = token_create(user=user, name="test")
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {self.key}", **headers)

    def get(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return self.client.get(API + path, data, **kwargs)


@pytest.fixture
def as_director(county: MiniCounty) -> TokenClient:
    return TokenClient(county.director)


@pytest.fixture
def as_commission(county: MiniCounty) -> TokenClient:
    return TokenClient(county.commission)


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    """The response is problem details with ``status`` and ``code``; returns its body."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body = json.loads(response.content)
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"urn:ygt:error:{code}"
    assert body["title"] and body["detail"]
    assert "Traceback" not in response.content.decode()
    return body
