"""Geography: municipalities, postcodes, typo-tolerant names and configured neighbours."""

from __future__ import annotations

import pytest

from bot.places import geo
from bot.places.geo import is_valid_postcode, neighbours, resolve_location

DEMO_REGION = ["Mechelen", "Bonheiden", "Sint-Katelijne-Waver", "Duffel", "Rumst", "Willebroek",
               "Zemst", "Boortmeerbeek", "Putte", "Lier", "Kampenhout"]
BRUSSELS = ["Anderlecht", "Oudergem", "Sint-Agatha-Berchem", "Brussel", "Etterbeek", "Evere",
            "Vorst", "Ganshoren", "Elsene", "Jette", "Koekelberg", "Sint-Jans-Molenbeek",
            "Sint-Gillis", "Sint-Joost-ten-Node", "Schaarbeek", "Ukkel", "Watermaal-Bosvoorde",
            "Sint-Lambrechts-Woluwe", "Sint-Pieters-Woluwe"]
CAPITALS_AND_CENTRES = ["Antwerpen", "Gent", "Brugge", "Leuven", "Hasselt", "Aalst", "Genk",
                        "Kortrijk", "Mechelen", "Oostende", "Roeselare", "Sint-Niklaas",
                        "Turnhout"]


def test_all_municipalities_since_2025():
    names = geo.municipalities()
    provinces = [geo.province_of(n) for n in names]
    assert provinces.count("BRU") == 19
    assert len(names) - 19 == 285  # Flemish municipalities since the 2025 mergers
    for name in DEMO_REGION + BRUSSELS + CAPITALS_AND_CENTRES:
        assert name in names, name
        assert geo.postcodes_of(name)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mechelen", "Mechelen"),
        ("mechlen", "Mechelen"),
        ("MECHELEN", "Mechelen"),
        ("malines", "Mechelen"),
        ("sint katelijne waver", "Sint-Katelijne-Waver"),
        ("St.-Katelijne-Waver", "Sint-Katelijne-Waver"),
        ("sint-katelijne-wafer", "Sint-Katelijne-Waver"),
        ("bxl", "Brussel"),
        ("brussel", "Brussel"),
        ("Bruxelles", "Brussel"),
        ("schaerbeek", "Schaarbeek"),
        ("Molenbeek-Saint-Jean", "Sint-Jans-Molenbeek"),
        ("bonhijden", "Bonheiden"),
        ("Willebroeck", "Willebroek"),
        ("Heist op den Berg", "Heist-op-den-Berg"),
        ("Rijmenam", "Bonheiden"),  # a sub-municipality
        ("Borsbeek", "Antwerpen"),  # merged in 2025
        ("ik woon in Duffel", "Duffel"),
        ("2800", "Mechelen"),
        ("B-2860", "Sint-Katelijne-Waver"),
        ("1030", "Schaarbeek"),
        ("2812 Muizen", "Mechelen"),
    ],
)
def test_resolve_location(text, expected):
    found = resolve_location(text)
    assert found is not None and found.municipality == expected


def test_resolve_location_details():
    found = resolve_location("2812")
    assert (found.postcode, found.how, found.region, found.province) == (
        "2812", "postcode", "flanders", "ANT")
    assert resolve_location("bruxelles").region == "brussels"
    assert resolve_location("mechlen").how == "fuzzy"


@pytest.mark.parametrize("text", ["", "xyz", "Namur", "5000", "as soon as possible", "hofstade",
                                  None])
def test_resolve_location_none(text):
    # Namur/5000: Wallonia; Hofstade exists in Zemst and in Aalst, so it is not guessed.
    assert resolve_location(text) is None


def test_unlisted_postcode_in_range_is_known_to_be_valid():
    found = resolve_location("1099")  # a large-customer postcode of Brussels
    assert found is not None and found.municipality is None and not found.known


@pytest.mark.parametrize(("code", "valid"), [
    ("2800", True), ("1000", True), ("1299", True), ("1500", True), ("3999", True),
    ("8000", True), ("9999", True), (9000, True), ("B-2800", True), (" 2800 ", True),
    ("1300", False), ("4000", False), ("7000", False), ("0999", False), ("280", False),
    ("28000", False), ("abcd", False), ("", False),
])
def test_is_valid_postcode(code, valid):
    assert is_valid_postcode(code) is valid


def test_is_valid_postcode_strict_needs_the_list():
    assert is_valid_postcode("2800", strict=True)
    assert not is_valid_postcode("1099", strict=True)


def test_neighbours_are_configured_and_symmetric():
    around = neighbours("Mechelen")
    for name in ["Bonheiden", "Sint-Katelijne-Waver", "Duffel", "Rumst", "Willebroek", "Zemst",
                 "Boortmeerbeek"]:
        assert name in around
        assert "Mechelen" in neighbours(name)
    assert "Mechelen" not in around
    assert neighbours("mechlen") == around
    assert neighbours("Gent") == []
    assert neighbours("nowhere") == []


def test_every_postcode_belongs_to_one_municipality():
    seen = {}
    for name in geo.municipalities():
        for code in geo.postcodes_of(name):
            assert code not in seen, (code, name, seen.get(code))
            seen[code] = name
            assert is_valid_postcode(code, strict=True)
            assert geo.municipality_of(code) == name


@pytest.mark.parametrize("text, municipality", [
    ("Торхаут", "Torhout"),  # "х" as the Dutch "h": not the nearer-looking Turnhout
    ("в Торхауті", "Torhout"),
    ("Торгаут", "Torhout"),  # Ukrainian "г" is an "h" too
    ("Турнхаут", "Turnhout"),
    ("Бохолт", "Bocholt"),
])
def test_cyrillic_names_are_read_as_a_dutch_ear_writes_them(text: str, municipality: str) -> None:
    found = geo.resolve_location(text)
    assert found is not None and found.municipality == municipality
