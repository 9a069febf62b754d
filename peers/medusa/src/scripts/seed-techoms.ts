// The techOMS peer's store, seeded once into an empty, migrated database (the tests copy
// that database as a template): an admin user, a secret API key, a US region, a sales
// channel with two stock locations, each able to ship (fulfilment set, service zone,
// shipping option: without them Medusa answers 500 on fulfilment), a publishable key and
// the demo catalogue's SKUs with stock at both locations.
//
//   npx medusa exec ./src/scripts/seed-techoms.ts
//
// The facts a client needs (ids, keys) are printed as one JSON line after "TECHOMS_SEED "
// and written to the file named by TECHOMS_SEED_OUTPUT, if set: the secret key's token
// is shown by Medusa only when it is created.
import { writeFileSync } from "node:fs"
import type { ExecArgs } from "@medusajs/framework/types"
import { ContainerRegistrationKeys, Modules, ProductStatus } from "@medusajs/framework/utils"
import {
  createApiKeysWorkflow,
  createInventoryLevelsWorkflow,
  createProductsWorkflow,
  createRegionsWorkflow,
  createSalesChannelsWorkflow,
  createShippingOptionsWorkflow,
  createShippingProfilesWorkflow,
  createStockLocationsWorkflow,
  createTaxRegionsWorkflow,
  createUsersWorkflow,
  linkSalesChannelsToApiKeyWorkflow,
  linkSalesChannelsToStockLocationWorkflow,
  updateStoresWorkflow,
} from "@medusajs/medusa/core-flows"

const ADMIN_EMAIL = process.env.TECHOMS_ADMIN_EMAIL || "admin@techoms.test"
const ADMIN_PASSWORD = process.env.TECHOMS_ADMIN_PASSWORD || "medusa-peer-pass"

// The demo account's warehouses (New Jersey DC, Reno DC) have these counterparts.
const LOCATIONS = [
  { name: "Newark DC", city: "Newark", province: "NJ", postal_code: "07102" },
  { name: "Reno DC", city: "Reno", province: "NV", postal_code: "89502" },
]

// The demo catalogue's SKUs (demo/data.py CATALOG): sku, title, price USD, grams, units.
const CATALOG: [string, string, number, number, number][] = [
  ["TSHIRT-BLK-M", "T-shirt, black, M", 19.9, 180, 40],
  ["TSHIRT-WHT-M", "T-shirt, white, M", 19.9, 180, 35],
  ["MUG-12OZ", "Mug 12 oz", 12.5, 350, 60],
  ["CAP-NAVY", "Cap, navy", 24.0, 120, 25],
  ["BOTTLE-750", "Water bottle 750 ml", 29.0, 420, 30],
]

export default async function seedTechoms({ container }: ExecArgs) {
  const logger = container.resolve(ContainerRegistrationKeys.LOGGER)
  const link = container.resolve(ContainerRegistrationKeys.LINK)
  const query = container.resolve(ContainerRegistrationKeys.QUERY)
  const auth = container.resolve(Modules.AUTH)
  const fulfillment = container.resolve(Modules.FULFILLMENT)
  const storeModule = container.resolve(Modules.STORE)
  const salesChannels = container.resolve(Modules.SALES_CHANNEL)

  // The admin user, as `medusa user` creates one: a user, and an emailpass identity.
  const {
    result: [user],
  } = await createUsersWorkflow(container).run({ input: { users: [{ email: ADMIN_EMAIL }] } })
  const { authIdentity, error } = await auth.register("emailpass", {
    body: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD },
  } as any)
  if (error || !authIdentity) throw new Error(`admin user not registered: ${error}`)
  await auth.updateAuthIdentities({ id: authIdentity.id, app_metadata: { user_id: user.id } })

  // `medusa db:migrate` made the store and its "Default Sales Channel": orders are sold
  // there, so that the store has one sales channel, as a new merchant's has.
  const [store] = await storeModule.listStores()
  const salesChannel =
    (await salesChannels.listSalesChannels({ name: "Default Sales Channel" }))[0] ??
    (
      await createSalesChannelsWorkflow(container).run({
        input: { salesChannelsData: [{ name: "Default Sales Channel" }] },
      })
    ).result[0]
  await updateStoresWorkflow(container).run({
    input: {
      selector: { id: store.id },
      update: {
        supported_currencies: [{ currency_code: "usd", is_default: true }],
        default_sales_channel_id: salesChannel.id,
      },
    },
  })

  const {
    result: [region],
  } = await createRegionsWorkflow(container).run({
    input: {
      regions: [
        {
          name: "United States",
          currency_code: "usd",
          countries: ["us"],
          payment_providers: ["pp_system_default"],
        },
      ],
    },
  })
  await createTaxRegionsWorkflow(container).run({
    input: [{ country_code: "us", provider_id: "tp_system" }],
  })

  const { result: locations } = await createStockLocationsWorkflow(container).run({
    input: {
      locations: LOCATIONS.map(({ name, city, province, postal_code }) => ({
        name,
        address: { address_1: "1 Dock Road", city, province, postal_code, country_code: "US" },
      })),
    },
  })
  await updateStoresWorkflow(container).run({
    input: { selector: { id: store.id }, update: { default_location_id: locations[0].id } },
  })

  const profiles = await fulfillment.listShippingProfiles({ type: "default" })
  const shippingProfile =
    profiles[0] ??
    (
      await createShippingProfilesWorkflow(container).run({
        input: { data: [{ name: "Default Shipping Profile", type: "default" }] },
      })
    ).result[0]

  // Each location ships through the manual provider from a fulfilment set of its own.
  const shippingOptions: Record<string, string> = {}
  for (const location of locations) {
    await linkSalesChannelsToStockLocationWorkflow(container).run({
      input: { id: location.id, add: [salesChannel.id] },
    })
    await link.create({
      [Modules.STOCK_LOCATION]: { stock_location_id: location.id },
      [Modules.FULFILLMENT]: { fulfillment_provider_id: "manual_manual" },
    })
    const fulfillmentSet = await fulfillment.createFulfillmentSets({
      name: `${location.name} shipping`,
      type: "shipping",
      service_zones: [{ name: `${location.name} US`, geo_zones: [{ country_code: "us", type: "country" }] }],
    })
    await link.create({
      [Modules.STOCK_LOCATION]: { stock_location_id: location.id },
      [Modules.FULFILLMENT]: { fulfillment_set_id: fulfillmentSet.id },
    })
    const {
      result: [option],
    } = await createShippingOptionsWorkflow(container).run({
      input: [
        {
          name: `Standard from ${location.name}`,
          price_type: "flat",
          provider_id: "manual_manual",
          service_zone_id: fulfillmentSet.service_zones[0].id,
          shipping_profile_id: shippingProfile.id,
          type: { label: "Standard", description: "Ships in 2-3 days.", code: "standard" },
          prices: [
            { currency_code: "usd", amount: 5 },
            { region_id: region.id, amount: 5 },
          ],
          rules: [
            { attribute: "enabled_in_store", value: "true", operator: "eq" },
            { attribute: "is_return", value: "false", operator: "eq" },
          ],
        },
      ],
    })
    shippingOptions[location.name] = option.id
  }

  const {
    result: [publishableKey],
  } = await createApiKeysWorkflow(container).run({
    input: { api_keys: [{ title: "techOMS storefront", type: "publishable", created_by: user.id }] },
  })
  await linkSalesChannelsToApiKeyWorkflow(container).run({
    input: { id: publishableKey.id, add: [salesChannel.id] },
  })
  const {
    result: [secretKey],
  } = await createApiKeysWorkflow(container).run({
    input: { api_keys: [{ title: "techOMS", type: "secret", created_by: user.id }] },
  })

  await createProductsWorkflow(container).run({
    input: {
      products: CATALOG.map(([sku, title, price, grams]) => ({
        title,
        handle: sku.toLowerCase(),
        status: ProductStatus.PUBLISHED,
        weight: grams,
        shipping_profile_id: shippingProfile.id,
        options: [{ title: "Default", values: ["Default"] }],
        variants: [
          {
            title,
            sku,
            manage_inventory: true,
            options: { Default: "Default" },
            prices: [{ amount: price, currency_code: "usd" }],
          },
        ],
        sales_channels: [{ id: salesChannel.id }],
      })),
    },
  })

  const units = new Map(CATALOG.map(([sku, , , , n]) => [sku, n]))
  const { data: items } = await query.graph({ entity: "inventory_item", fields: ["id", "sku"] })
  await createInventoryLevelsWorkflow(container).run({
    input: {
      inventory_levels: items.flatMap((item) =>
        locations.map((location) => ({
          inventory_item_id: item.id,
          location_id: location.id,
          stocked_quantity: units.get(item.sku as string) ?? 0,
        }))
      ),
    },
  })

  const facts = {
    api_key: secretKey.token,
    admin_email: ADMIN_EMAIL,
    admin_password: ADMIN_PASSWORD,
    region_id: region.id,
    sales_channel_id: salesChannel.id,
    stock_locations: Object.fromEntries(locations.map((l) => [l.name, l.id])),
    shipping_option_id: shippingOptions[LOCATIONS[0].name],
    shipping_options: shippingOptions,
    publishable_key: publishableKey.token,
    skus: CATALOG.map(([sku]) => sku),
  }
  if (process.env.TECHOMS_SEED_OUTPUT) {
    writeFileSync(process.env.TECHOMS_SEED_OUTPUT, JSON.stringify(facts, null, 2))
  }
  logger.info("techOMS peer seeded")
  console.log(`TECHOMS_SEED ${JSON.stringify(facts)}`)
}
