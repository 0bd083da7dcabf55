"""What a township director does in a real browser: sign in, open the tree, expand with htmx, switch
to English. Drives Debian's Chromium through Playwright (never a downloaded browser)."""

from __future__ import annotations

import pytest

from tests.browser import RESULTS
from tests.conftest import MiniCounty
from tests.factories.accounts import PASSWORD
from tests.web.conftest import StaffedCounty

pytestmark = pytest.mark.browser



@pytest.fixture
def browser_county(transactional_db: None) -> StaffedCounty:
    """The staffed MiniCounty, committed so that the live server's thread sees it."""
    return StaffedCounty(MiniCounty())


def test_director_expands_the_tree_and_switches_to_english(live_server: object, browser_county: StaffedCounty,
                                                           page: object) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    c = browser_county.c
    base = str(live_server.url)  # type: ignore[attr-defined]
    tree_url = f"{base}/registry/"

    # Not signed in: the tree sends us to the login form, which brings us back afterwards.
    page.goto(tree_url)
    expect(page).to_have_url(f"{base}/login/?next=/registry/")
    page.fill("#id_username", "yuanzhang")
    page.fill("#id_password", PASSWORD)
    page.click("form[action='/login/'] button[type=submit]")
    expect(page).to_have_url(tree_url)
    expect(page.locator("h1")).to_have_text("机构树")
    expect(page.locator("header .who")).to_contain_text("卫生院院长")

    # The director's tree opens at their township: its centre and its villages, not yet their clinics.
    township = page.locator(f"#node-{c.townships[0].code}")
    expect(township.locator("> summary")).to_contain_text("机构 3 · 下级区划 2")
    expect(township).to_contain_text(c.centres[0].name)
    village = page.locator(f"#node-{c.village_a.code}")
    expect(village.locator("> summary")).to_contain_text("机构 1 · 下级区划 0")
    clinic = village.locator(".inst a", has_text=browser_county.clinic_a.name)
    expect(clinic).to_have_count(0)

    # Expanding a village row fetches its contents with htmx: the page itself does not change.
    village.locator("> summary").click()
    expect(clinic).to_be_visible()
    expect(page).to_have_url(tree_url)
    content = page.content()
    for other in (c.townships[1], *c.villages[c.townships[1].code]):
        assert other.name not in content, other.name
    assert browser_county.clinic_c.name not in content

    # Collapsing and reopening does not fetch twice (hx-trigger "toggle once").
    village.locator("> summary").click()
    expect(clinic).to_be_hidden()
    village.locator("> summary").click()
    expect(clinic).to_have_count(1)

    # Switch to English: the same page, every label translated.
    page.click("form.lang button[value=en]")
    expect(page).to_have_url(tree_url)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Org tree")
    expect(page.locator("nav.nav")).to_contain_text("Standards check")
    expect(page.locator("header .who")).to_contain_text("Township health centre director")
    page.locator(f"#node-{c.village_b.code} > summary").click()
    expect(page.locator(f"#node-{c.village_b.code} .inst")).to_contain_text("Village clinic")
    expect(page.locator(f"#node-{c.village_b.code} .inst a")).to_have_text(browser_county.clinic_b.name)
    page.locator(f"#node-{c.village_a.code} > summary").click()
    expect(page.locator(f"#node-{c.village_a.code} .inst a")).to_be_visible()

    RESULTS.mkdir(exist_ok=True)
    page.screenshot(path=str(RESULTS / "tree.png"), full_page=True)

    # Following a clinic from the tree opens its page with its staff.
    page.locator(f"#node-{c.village_a.code} .inst a").click()
    expect(page.locator("h1")).to_have_text(browser_county.clinic_a.name)
    expect(page.locator("main")).to_contain_text("李村医")
    expect(page.locator("main")).to_contain_text("Staff on duty")
