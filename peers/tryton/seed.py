"""Seed a freshly initialised Tryton database from seed.json; print what was made as JSON.

Runs INSIDE the Tryton virtualenv (`.venv/bin/python seed.py CONF DATABASE SEED_JSON OUT_JSON`),
started by peer.py: it imports trytond, which the portal never does. The output (ids by
name), written to OUT_JSON, is stored beside the template database and handed to tests as `Peer.info`.
"""

import json
import sys
from decimal import Decimal


def main(conf: str, database: str, seed_path: str) -> dict:
    from trytond.config import config

    config.update_etc(conf)
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    with open(seed_path) as handle:
        seed = json.load(handle)
    Pool.start()
    pool = Pool(database)
    pool.init()
    with Transaction().start(database, 0) as transaction:
        info = _seed(pool, transaction, seed)
    return info


def _seed(pool, transaction, seed: dict) -> dict:
    from trytond.transaction import Transaction

    model_data = pool.get("ir.model.data")
    currency_model = pool.get("currency.currency")
    party_model = pool.get("party.party")
    company_model = pool.get("company.company")
    user_model = pool.get("res.user")
    location_model = pool.get("stock.location")
    template_model = pool.get("product.template")
    carrier_model = pool.get("carrier")
    country_model = pool.get("country.country")
    move_model = pool.get("stock.move")

    def ref(module, name):
        return model_data.get_id(module, name)

    countries = {
        code: country.id
        for code, country in zip(
            [c for c, _ in seed["countries"]],
            country_model.create([{"code": code, "name": name} for code, name in seed["countries"]]),
            strict=True,
        )
    }
    (usd,) = currency_model.create(
        [
            {
                "name": "US Dollar",
                "code": seed["company"]["currency"],
                "symbol": "$",
                "rounding": Decimal(".01"),
            }
        ]
    )
    (company_party,) = party_model.create([{"name": seed["company"]["name"]}])
    (company,) = company_model.create([{"party": company_party.id, "currency": usd.id, "timezone": "UTC"}])
    (admin,) = user_model.search([("login", "=", "admin")])
    user_model.write([admin], {"companies": [("add", [company.id])], "company": company.id})

    units = {
        "unit": ref("product", "uom_unit"),
        "kg": ref("product", "uom_kilogram"),
        "g": ref("product", "uom_gram"),
        "cm": ref("product", "uom_centimeter"),
        "mm": ref("product", "uom_millimeter"),
    }
    as_admin = Transaction().set_context(company=company.id, companies=[company.id])
    with Transaction().set_user(admin.id), as_admin:
        parties = {}
        for key, values in seed["parties"].items():
            (party,) = party_model.create(
                [
                    {
                        "name": values["name"],
                        "addresses": [
                            (
                                "create",
                                [
                                    {
                                        "street": values["street"],
                                        "postal_code": values["postal_code"],
                                        "city": values["city"],
                                        "country": countries[values["country"]],
                                    }
                                ],
                            )
                        ],
                    }
                ]
            )
            parties[key] = {"id": party.id, "address": party.addresses[0].id, "name": party.name}

        warehouses = {}
        first = location_model(ref("stock", "location_warehouse"))
        for position, values in enumerate(seed["warehouses"]):
            if position == 0:
                # The warehouse stock's activation made becomes the first one of the seed.
                location_model.write([first], {"name": values["name"], "code": values["code"]})
                warehouse = first
            else:
                zones = location_model.create(
                    [
                        {
                            "name": f"{values['name']} {zone}",
                            "code": f"{values['code']}-{c}",
                            "type": "storage",
                        }
                        for zone, c in (("Input", "IN"), ("Output", "OUT"), ("Storage", "STO"))
                    ]
                )
                (warehouse,) = location_model.create(
                    [
                        {
                            "name": values["name"],
                            "code": values["code"],
                            "type": "warehouse",
                            "input_location": zones[0].id,
                            "output_location": zones[1].id,
                            "storage_location": zones[2].id,
                            "lost_found_location": ref("stock", "location_lost_found"),
                        }
                    ]
                )
            warehouses[values["name"]] = {
                "id": warehouse.id,
                "code": warehouse.code,
                "input": warehouse.input_location.id,
                "storage": warehouse.storage_location.id,
                "output": warehouse.output_location.id,
            }

        # Packing into packages needs a package type; stock_package seeds none.
        (box,) = pool.get("stock.package.type").create([{"name": seed["package_type"]}])
        carriers = {}
        for values in seed["carriers"]:
            (service,) = template_model.create(
                [
                    {
                        "name": values["service"],
                        # The carrier's own service code (UPS Ground is 03), as orders carry it.
                        "code": values["code"],
                        "type": "service",
                        "default_uom": units["unit"],
                        "list_price": Decimal(values["price"]),
                        "products": [("create", [{}])],
                    }
                ]
            )
            (carrier_party,) = party_model.create([{"name": values["name"]}])
            (carrier,) = carrier_model.create(
                [{"party": carrier_party.id, "carrier_product": service.products[0].id}]
            )
            carriers[values["name"]] = {
                "id": carrier.id,
                "product": service.products[0].id,
                "service": values["service"],
                "code": values["code"],
            }

        products = {}
        for values in seed["products"]:
            length, width, height = values["cm"]
            (template,) = template_model.create(
                [
                    {
                        "name": values["name"],
                        "code": values["sku"],
                        "type": "goods",
                        "default_uom": units["unit"],
                        "list_price": Decimal(values["price"]),
                        "weight": values["weight_kg"],
                        "weight_uom": units["kg"],
                        "length": length,
                        "length_uom": units["cm"],
                        "width": width,
                        "width_uom": units["cm"],
                        "height": height,
                        "height_uom": units["cm"],
                        "products": [("create", [{"cost_price": Decimal(values["cost"])}])],
                    }
                ]
            )
            products[values["sku"]] = {
                "id": template.products[0].id,
                "template": template.id,
                "name": values["name"],
                "price": values["price"],
                "cost": values["cost"],
                "weight": values["weight_kg"],
                "length": length,
                "width": width,
                "height": height,
            }

        # Opening stock: done moves from the supplier location into each storage zone.
        supplier_location = ref("stock", "location_supplier")
        stock = {name: {} for name in warehouses}
        moves = []
        for values in seed["products"]:
            for name, quantity in values["stock"].items():
                stock[name][values["sku"]] = quantity
                if quantity:
                    moves.append(
                        {
                            "product": products[values["sku"]]["id"],
                            "unit": units["unit"],
                            "quantity": float(quantity),
                            "from_location": supplier_location,
                            "to_location": warehouses[name]["storage"],
                            "unit_price": Decimal(values["cost"]),
                            "currency": usd.id,
                            "company": company.id,
                        }
                    )
        move_model.do(move_model.create(moves))

    transaction.commit()
    return {
        "company": company.id,
        "currency": usd.id,
        "countries": countries,
        "units": units,
        "warehouses": warehouses,
        "locations": {
            "supplier": supplier_location,
            "customer": ref("stock", "location_customer"),
            "lost_found": ref("stock", "location_lost_found"),
        },
        "parties": parties,
        "carriers": carriers,
        "package_type": box.id,
        "products": products,
        "stock": stock,
    }


if __name__ == "__main__":
    conf, database, seed_path, out_path = sys.argv[1:5]
    with open(out_path, "w") as out:
        json.dump(main(conf, database, seed_path), out, indent=1)
