"""The API's authentication (token, session) and its errors as problem details."""

from __future__ import annotations

import datetime as dt
import io
import logging
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.management import call_command
from django.test import Client, RequestFactory
from django.utils import timezone, translation
from django.utils.functional import lazy
from ninja.errors import HttpError

from tests.api.conftest import API, TokenClient, assert_problem
from tests.conftest import MiniCounty
from yigongti.accounts.api import BearerToken, Session
from yigongti.accounts.models import ApiToken
from yigongti.accounts.services import token_user
from yigongti.core.api import on_http_error
from yigongti.core.errors import DomainError, NotFound
from yigongti.registry import api as registry_api


def test_token_auth(as_director: TokenClient) -> None:
    response = as_director.get("/accounts/me")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["username"] == "yuanzhang"
    assert body["role"] == "township_director"
    assert body["view_unit"]["code"] == "522399101"
    assert body["institution"]["code"] == "T522399101"


def test_session_auth(county: MiniCounty) -> None:
    client = Client()
    client.force_login(county.village_doctor)
    response = client.get(f"{API}/accounts/me")
    assert response.status_code == 200, response.content
    assert response.json()["username"] == "cunyi"


def test_session_auth_checks_csrf_on_unsafe_methods(county: MiniCounty) -> None:
    # No route of the registry writes yet, so the session auth class is driven directly.
    factory = RequestFactory()
    post = factory.post(f"{API}/anything")
    post.user = county.village_doctor
    post.COOKIES[settings.SESSION_COOKIE_NAME] = "x"
    with pytest.raises(HttpError) as error:
        Session()(post)
    assert error.value.status_code == 403
    assert_problem(on_http_error(post, error.value), 403, "csrf_failed")
    anonymous = factory.post(f"{API}/anything")  # no session cookie: a plain 401, not a CSRF 403
    anonymous.user = AnonymousUser()
    assert Session()(anonymous) is None
    get = factory.get(f"{API}/anything")
    get.user = county.village_doctor
    assert Session()(get) == county.village_doctor
    bearer = factory.post(f"{API}/anything", HTTP_AUTHORIZATION=f"Bearer {TokenClient(county.director).key}")
    assert BearerToken()(bearer) == county.director  # a token needs no CSRF token


@pytest.mark.parametrize("headers", [
    {},
    {"HTTP_AUTHORIZATION": "Bearer ygt_not-a-real-key"},
    {"HTTP_AUTHORIZATION": "Basic eXVhbnpoYW5nOng="},
])
def test_no_valid_credentials_is_401_problem(county: MiniCounty, headers: dict[str, str]) -> None:
    for path in ("/accounts/me", "/registry/institutions", "/registry/standards"):
        response = Client(**headers).get(API + path)
        body = assert_problem(response, 401, "not_authenticated")
        assert "Bearer" in response["WWW-Authenticate"]
        assert body["detail"]


def test_expired_and_revoked_tokens_are_refused(county: MiniCounty) -> None:
    token = TokenClient(county.director)
    ApiToken.objects.filter(user=county.director).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert_problem(token.get("/accounts/me"), 401, "not_authenticated")
    ApiToken.objects.filter(user=county.director).update(expires_at=None, revoked=True)
    assert_problem(token.get("/accounts/me"), 401, "not_authenticated")


def test_token_of_a_deactivated_user_is_refused(county: MiniCounty) -> None:
    token = TokenClient(county.director)
    county.director.is_active = False
    county.director.save(update_fields=["is_active"])
    assert_problem(token.get("/accounts/me"), 401, "not_authenticated")


def test_not_found_is_a_problem(as_director: TokenClient) -> None:
    assert_problem(as_director.get("/registry/institutions/NOPE"), 404, "not_found")
    assert_problem(as_director.get("/registry/divisions/000000"), 404, "not_found")


def test_validation_error_is_422_with_errors(as_director: TokenClient) -> None:
    body = assert_problem(as_director.get("/registry/institutions", {"limit": 0}), 422, "validation_failed")
    assert body["errors"] and "limit" in body["errors"][0]["loc"]
    body = assert_problem(as_director.get("/registry/institutions", {"type": "spaceport"}), 422, "validation_failed")
    assert "type" in body["errors"][0]["loc"]
    assert_problem(as_director.get("/registry/standards", {"date": "2025-02-30"}), 422, "validation_failed")


def test_domain_error_keeps_its_code_and_status(as_director: TokenClient) -> None:
    body = assert_problem(as_director.get("/registry/standards"), 409, "standard_rules_missing")
    assert "ygt rules load" in body["detail"]


def test_unexpected_error_is_a_generic_500(as_director: TokenClient, monkeypatch: pytest.MonkeyPatch,
                                           caplog: pytest.LogCaptureFixture) -> None:
    def explode(**kwargs: Any) -> None:
        raise RuntimeError("secret internals: password=hunter2")

    monkeypatch.setattr(registry_api, "division_get", explode)
    with caplog.at_level(logging.ERROR, logger="yigongti.api"):
        response = as_director.get("/registry/divisions/522399101")
    body = assert_problem(response, 500, "internal_error")
    assert "hunter2" not in response.content.decode() and "RuntimeError" not in response.content.decode()
    assert any("hunter2" in (r.exc_text or "") or r.exc_info for r in caplog.records)
    assert body["detail"]


# ---------------------------------------------------------------- language of ``detail``


class _Bilingual(DomainError):
    code = "bilingual"
    status = 409
    message = lazy(lambda: "English message" if translation.get_language() == "en" else "中文消息", str)()


def test_detail_follows_accept_language(county: MiniCounty, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(**kwargs: Any) -> None:
        raise _Bilingual()

    monkeypatch.setattr(registry_api, "division_get", refuse)
    english = TokenClient(county.director, HTTP_ACCEPT_LANGUAGE="en").get("/registry/divisions/522399101")
    chinese = TokenClient(county.director, HTTP_ACCEPT_LANGUAGE="zh-hans").get("/registry/divisions/522399101")
    default = TokenClient(county.director).get("/registry/divisions/522399101")
    assert assert_problem(english, 409, "bilingual")["detail"] == "English message"
    assert assert_problem(chinese, 409, "bilingual")["detail"] == "中文消息"
    assert assert_problem(default, 409, "bilingual")["detail"] == "中文消息"
    assert english["Content-Language"] == "en"


def test_builtin_messages_are_rendered_in_the_callers_language(county: MiniCounty) -> None:
    english = TokenClient(county.director, HTTP_ACCEPT_LANGUAGE="en").get("/registry/institutions/NOPE")
    chinese = TokenClient(county.director, HTTP_ACCEPT_LANGUAGE="zh-hans").get("/registry/institutions/NOPE")
    with translation.override("en"):
        expected_en = str(NotFound.message)
    assert chinese.json()["detail"] == "未找到。"
    assert english.json()["detail"] == expected_en
    assert english["Content-Language"] == "en" and chinese["Content-Language"] == "zh-hans"


# ---------------------------------------------------------------- OpenAPI and ygt token create


def test_openapi_lists_the_registry_paths(client: Client) -> None:
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    for path in ("/registry/divisions/{code}", "/registry/divisions/{code}/children", "/registry/institutions",
                 "/registry/institutions/{code}", "/registry/institutions/{code}/staff", "/registry/standards",
                 "/accounts/me"):
        assert API + path in paths, path
    assert {"BearerToken", "Session"} <= set(schema["components"]["securitySchemes"])
    staff = paths[f"{API}/registry/institutions/{{code}}/staff"]["get"]
    assert {"200", "401", "404"} <= set(staff["responses"])
    assert "Problem" in schema["components"]["schemas"]


def test_token_create_command_prints_a_working_key(county: MiniCounty) -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command("token", "create", "--user", "yuanzhang", "--name", "报表脚本", "--days", "30", stdout=out, stderr=err)
    key = out.getvalue().strip()
    assert key.startswith("ygt_")
    assert token_user(key) == county.director
    token = ApiToken.objects.get(user=county.director)
    assert token.name == "报表脚本" and key not in token.key_hash
    assert token.expires_at is not None and token.expires_at > timezone.now() + dt.timedelta(days=29)
    response = Client(HTTP_AUTHORIZATION=f"Bearer {key}").get(f"{API}/accounts/me")
    assert response.status_code == 200


def test_token_create_for_unknown_user_fails(county: MiniCounty) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("token", "create", "--user", "nobody", "--name", "x")
    assert not ApiToken.objects.exists()
