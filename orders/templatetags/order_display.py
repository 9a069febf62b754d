"""How an order's address and shipping method read on its page."""

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from catalog.models import Carrier

register = template.Library()


def _joined(separator: str, *parts: str) -> str:
    return separator.join(p for p in parts if p)


@register.simple_tag
def ship_to(order):
    """The address a line per part, with no separator beside an empty part (it read
    'Street , 07102'): street; city, region and postal code; country."""
    lines = (
        _joined(", ", order.ship_address1, order.ship_address2),
        _joined(", ", order.ship_city, _joined(" ", order.ship_region, order.ship_postal_code)),
        order.ship_country,
    )
    return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in lines if line)) or "—"


@register.simple_tag
def shipping_method(document):
    """'UPS Ground (UPS 03)' from the carrier catalogue (it read 'UPS / 03'); a code the
    catalogue does not hold is shown as it came, and said so."""
    carrier_code, service_code = document.carrier_code, document.service_code
    if not carrier_code and not service_code:
        return "—"
    codes = _joined(" ", carrier_code, service_code)
    carrier = Carrier.objects.filter(code__iexact=carrier_code).first() if carrier_code else None
    service = carrier.services.filter(code__iexact=service_code).first() if carrier and service_code else None
    if service is not None:
        return format_html('{} {} <small class="muted">({})</small>', carrier.name, service.name, codes)
    if carrier is not None:
        missing = "service not in the carrier catalogue" if service_code else "no service code"
        return format_html('{} <small class="muted">({}: {})</small>', carrier.name, codes, missing)
    return format_html('{} <small class="muted">(not in the carrier catalogue)</small>', codes)
