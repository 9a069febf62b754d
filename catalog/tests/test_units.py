"""Canonical storage (mm, g) and display in the account's units."""

from decimal import Decimal

from catalog import units


def test_inches_and_pounds_round_trip_through_canonical_units():
    assert units.to_mm("10", "in") == Decimal("254.0")
    assert units.from_mm(Decimal("254.0"), "in") == Decimal("10.00")
    assert units.to_g("2", "lb") == Decimal("907.2")
    assert units.from_g(Decimal("907.2"), "lb") == Decimal("2.000")


def test_volume_is_shown_in_cubic_units_of_the_size_system():
    assert units.volume_from_mm(100, 100, 100, "cm3") == Decimal("1000.00")
    assert units.volume_from_mm(Decimal("25.4"), Decimal("25.4"), Decimal("25.4"), "in3") == Decimal("1.00")
    assert units.volume_from_mm(None, 1, 1, "cm3") is None
