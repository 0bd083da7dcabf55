from tests.conftest import MiniCounty


def test_mini_county_builds(county: MiniCounty) -> None:
    assert county.village_a.path == "522399/522399101/522399101201"
    assert county.clinics[county.village_a.code].path == county.village_a.path
