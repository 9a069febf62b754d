"""Seed the carrier catalogue with common carriers and their service codes."""

from django.db import migrations

CARRIERS = {
    ("UPS", "UPS"): [
        ("01", "Next Day Air"),
        ("02", "2nd Day Air"),
        ("03", "Ground"),
        ("12", "3 Day Select"),
        ("13", "Next Day Air Saver"),
        ("14", "Next Day Air Early"),
        ("07", "Worldwide Express"),
        ("08", "Worldwide Expedited"),
        ("11", "Standard"),
        ("65", "Worldwide Saver"),
    ],
    ("FEDEX", "FedEx"): [
        ("FEDEX_GROUND", "FedEx Ground"),
        ("GROUND_HOME_DELIVERY", "FedEx Home Delivery"),
        ("FEDEX_2_DAY", "FedEx 2Day"),
        ("FEDEX_EXPRESS_SAVER", "FedEx Express Saver"),
        ("STANDARD_OVERNIGHT", "FedEx Standard Overnight"),
        ("PRIORITY_OVERNIGHT", "FedEx Priority Overnight"),
        ("FIRST_OVERNIGHT", "FedEx First Overnight"),
        ("INTERNATIONAL_PRIORITY", "FedEx International Priority"),
        ("INTERNATIONAL_ECONOMY", "FedEx International Economy"),
    ],
    ("USPS", "USPS"): [
        ("GROUND_ADVANTAGE", "Ground Advantage"),
        ("PRIORITY", "Priority Mail"),
        ("PRIORITY_EXPRESS", "Priority Mail Express"),
        ("MEDIA", "Media Mail"),
        ("FIRST_CLASS_INTL", "First-Class Package International"),
        ("PRIORITY_INTL", "Priority Mail International"),
    ],
    ("DHL_EXPRESS", "DHL Express"): [
        ("EXPRESS_WORLDWIDE", "Express Worldwide"),
        ("EXPRESS_1200", "Express 12:00"),
        ("EXPRESS_0900", "Express 9:00"),
        ("ECONOMY_SELECT", "Economy Select"),
    ],
    ("DHL_ECOMMERCE", "DHL eCommerce"): [
        ("PARCEL_GROUND", "Parcel Ground"),
        ("PARCEL_EXPEDITED", "Parcel Expedited"),
        ("PARCEL_INTL_DIRECT", "Parcel International Direct"),
    ],
    ("CANADA_POST", "Canada Post"): [
        ("DOM.RP", "Regular Parcel"),
        ("DOM.EP", "Expedited Parcel"),
        ("DOM.XP", "Xpresspost"),
        ("DOM.PC", "Priority"),
    ],
    ("ROYAL_MAIL", "Royal Mail"): [
        ("TPN", "Tracked 24"),
        ("TPS", "Tracked 48"),
        ("SD1", "Special Delivery Guaranteed by 1pm"),
    ],
    ("DPD", "DPD"): [("CLASSIC", "Classic"), ("PREDICT", "Predict"), ("EXPRESS", "Express")],
    ("GLS", "GLS"): [("BUSINESS_PARCEL", "BusinessParcel"), ("EXPRESS_PARCEL", "ExpressParcel")],
    ("JAPAN_POST", "Japan Post"): [("YU_PACK", "Yu-Pack"), ("EMS", "EMS"), ("LETTER_PACK", "Letter Pack")],
    ("YAMATO", "Yamato Transport"): [("TA_Q_BIN", "TA-Q-BIN"), ("COOL_TA_Q_BIN", "Cool TA-Q-BIN")],
}


def seed(apps, schema_editor):
    Carrier = apps.get_model("catalog", "Carrier")
    CarrierService = apps.get_model("catalog", "CarrierService")
    for (code, name), services in CARRIERS.items():
        carrier, _ = Carrier.objects.get_or_create(code=code, defaults={"name": name})
        for service_code, service_name in services:
            CarrierService.objects.get_or_create(
                carrier=carrier, code=service_code, defaults={"name": service_name}
            )


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
