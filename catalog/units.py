"""Unit conversion between the canonical storage units (millimetre, gram) and the units
an account shows (Unit of Measure settings). Plain functions, no ORM."""

from decimal import ROUND_HALF_UP, Decimal

MM_PER = {"cm": Decimal("10"), "in": Decimal("25.4")}
G_PER = {"g": Decimal("1"), "kg": Decimal("1000"), "lb": Decimal("453.59237"), "oz": Decimal("28.349523125")}
# Volume units are cubes of the size units.
MM3_PER = {"cm3": Decimal("1000"), "in3": Decimal("25.4") ** 3}

DISPLAY_PLACES = Decimal("0.01")
STORAGE_PLACES = Decimal("0.1")


def _q(value: Decimal, places: Decimal) -> Decimal:
    return value.quantize(places, rounding=ROUND_HALF_UP)


def to_mm(value, unit: str) -> Decimal | None:
    return None if value in (None, "") else _q(Decimal(str(value)) * MM_PER[unit], STORAGE_PLACES)


def from_mm(mm, unit: str) -> Decimal | None:
    return None if mm is None else _q(Decimal(mm) / MM_PER[unit], DISPLAY_PLACES)


def to_g(value, unit: str) -> Decimal | None:
    return None if value in (None, "") else _q(Decimal(str(value)) * G_PER[unit], STORAGE_PLACES)


def from_g(grams, unit: str) -> Decimal | None:
    if grams is None:
        return None
    places = Decimal("0.001") if unit in ("kg", "lb") else DISPLAY_PLACES
    return _q(Decimal(grams) / G_PER[unit], places)


def volume_from_mm(length, width, height, unit: str) -> Decimal | None:
    if None in (length, width, height):
        return None
    return _q(Decimal(length) * Decimal(width) * Decimal(height) / MM3_PER[unit], DISPLAY_PLACES)
