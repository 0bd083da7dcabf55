"""Every page renders in both languages without a template error; the language switch works."""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest
from django.conf import LazySettings
from django.test import Client
from django.urls import reverse

from tests.factories.accounts import PASSWORD
from tests.web.conftest import StaffedCounty, login

pytestmark = pytest.mark.django_db

INVALID = "@@INVALID-TEMPLATE-VARIABLE(%s)@@"


@pytest.fixture
def strict_templates(settings: LazySettings) -> Iterator[None]:
    """Any unresolvable variable in a template shows up in the page as ``INVALID``."""
    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["OPTIONS"]["string_if_invalid"] = INVALID
    settings.TEMPLATES = templates
    yield


def _pages(staffed: StaffedCounty) -> dict[str, list[tuple[str, dict[str, str]]]]:
    c = staffed.c
    detail = "registry:institution_detail"
    common = [(reverse("home"), {}), (reverse("registry:tree"), {}), (reverse("registry:standards"), {}),
              (reverse("registry:standards") + "?category=staff", {})]
    return {
        "cunyi": [*common, (reverse(detail, args=[staffed.clinic_a.code]), {}),
                  (reverse("registry:division", args=[c.village_a.code]), {}),
                  (reverse("registry:division", args=[c.village_a.code]), {"HX-Request": "true"})],
        "yuanzhang": [*common, (reverse(detail, args=[c.centres[0].code]), {}),
                      (reverse(detail, args=[staffed.clinic_b.code]), {}),
                      (reverse("registry:division", args=[c.townships[0].code]), {})],
        "weijian": [*common, (reverse(detail, args=[c.hospital.code]), {}),
                    (reverse("registry:division", args=[c.county.code]), {}),
                    (reverse("registry:division", args=[c.townships[1].code]), {"HX-Request": "true"})],
        "root": common,
    }


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_every_page_renders_cleanly(staffed: StaffedCounty, client: Client, strict_templates: None,
                                    django_user_model: type, language: str) -> None:
    django_user_model.objects.create_superuser("root", password=PASSWORD)
    client.cookies["django_language"] = language
    page = client.get(reverse("login")).content.decode()
    assert INVALID[:10] not in page and f'<html lang="{language}">' in page
    for username, pages in _pages(staffed).items():
        login(client, username)
        client.cookies["django_language"] = language  # logout() drops every cookie
        for url, headers in pages:
            response = client.get(url, headers=headers)
            assert response.status_code == 200, (username, url)
            body = response.content.decode()
            assert INVALID[:10] not in body, (username, url, body[body.find(INVALID[:10]) - 200:][:400])
            if not headers:
                assert f'<html lang="{language}">' in body, (username, url)
        client.logout()


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_error_pages_render_cleanly(staffed: StaffedCounty, client: Client, strict_templates: None,
                                    language: str) -> None:
    client.cookies["django_language"] = language
    login(client, "cunyi")
    not_found = {"zh-hans": "未找到。", "en": "Not found."}[language]
    for url in (reverse("registry:institution_detail", args=[staffed.clinic_c.code]), "/no-such-page/"):
        response = client.get(url)
        body = response.content.decode()
        assert response.status_code == 404 and not_found in body and INVALID[:10] not in body, url
    fragment = client.get(reverse("registry:division", args=[staffed.c.village_c.code]),
                          headers={"HX-Request": "true"})
    assert fragment.status_code == 404 and "<html" not in fragment.content.decode()
    assert not_found in fragment.content.decode()


def test_language_switch_changes_the_page_language(staffed: StaffedCounty, client: Client) -> None:
    login(client, "yuanzhang")
    tree_url = reverse("registry:tree")
    page = client.get(tree_url).content.decode()
    assert '<html lang="zh-hans">' in page and "机构树" in page and "Org tree" not in page
    assert 'action="/i18n/setlang/"' in page and 'name="csrfmiddlewaretoken"' in page
    response = client.post(reverse("set_language"), {"language": "en", "next": tree_url})
    assert response.status_code == 302 and response["Location"] == tree_url
    page = client.get(tree_url).content.decode()
    assert '<html lang="en">' in page
    for text in ("Org tree", "Standards check", "Sign out", "Institutions 3 · Subdivisions 2",
                 "Township health centre"):
        assert text in page, text
    assert "机构树" not in page
    # Data stays as entered (names are Chinese); only the interface changes.
    assert staffed.c.centres[0].name in page
    client.post(reverse("set_language"), {"language": "zh-hans", "next": tree_url})
    assert "机构树" in client.get(tree_url).content.decode()


def test_language_switch_needs_csrf(staffed: StaffedCounty) -> None:
    client = Client(enforce_csrf_checks=True)
    login(client, "yuanzhang")
    assert client.post(reverse("set_language"), {"language": "en", "next": "/"}).status_code == 403


def test_english_home_pages(staffed: StaffedCounty, client: Client) -> None:
    expected = {
        "cunyi": ["Village clinic desk", "My clinic", "Staff on duty", "All up to standard"],
        "yuanzhang": ["Township overview", "Health centre and village clinics",
                      "Missing: Consultation room, Treatment room, Public health room, Pharmacy"],
        "weijian": ["County overview", "Institutions by type and tier", "Village doctor",
                    "County people&#x27;s hospital", "Staffed (三达标)"],
    }
    for username, texts in expected.items():
        login(client, username)
        client.cookies["django_language"] = "en"  # logout() drops every cookie
        page = client.get(reverse("home")).content.decode()
        for text in texts:
            assert text in page, (username, text)
        client.logout()
