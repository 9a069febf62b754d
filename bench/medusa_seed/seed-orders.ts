// Seeds orders straight into a Medusa store's order module, for bench/medusa.py: placing
// 5,000 orders through the admin API (a draft order converted, ~3 s each here) would take
// hours. Each order has two lines of the store's variants, a US shipping address and a
// shipping method whose data carries carrier and service codes, as Import Orders reads them.
//
//   NODE_PATH=peers/medusa/node_modules npx --prefix peers/medusa medusa exec bench/medusa_seed/seed-orders.ts
//
// Environment: SEED_ORDERS (how many, default 5000), SEED_BATCH (orders per call, 250),
// SEED_SPREAD_MS (the change times of consecutive orders are this far apart, default 10,
// so that they differ as orders placed one after another do).
import type { ExecArgs } from "@medusajs/framework/types"
import { ContainerRegistrationKeys, Modules } from "@medusajs/framework/utils"

export default async function seedOrders({ container }: ExecArgs) {
  const query = container.resolve(ContainerRegistrationKeys.QUERY)
  const orders = container.resolve(Modules.ORDER)
  const total = Number(process.env.SEED_ORDERS || 5000)
  const batch = Number(process.env.SEED_BATCH || 250)
  const spread = Number(process.env.SEED_SPREAD_MS || 10)

  const { data: regions } = await query.graph({ entity: "region", fields: ["id", "currency_code"] })
  const { data: channels } = await query.graph({ entity: "sales_channel", fields: ["id"] })
  const { data: options } = await query.graph({ entity: "shipping_option", fields: ["id", "name"] })
  const { data: variants } = await query.graph({
    entity: "product_variant",
    fields: ["id", "sku", "title", "product_id", "product.title"],
  })
  const sellable = variants.filter((v: any) => v.sku)
  const start = Date.now() - total * spread
  let made = 0
  while (made < total) {
    const input = []
    for (let i = made; i < Math.min(total, made + batch); i++) {
      const at = new Date(start + i * spread)
      const a = sellable[i % sellable.length]
      const b = sellable[(i + 1) % sellable.length]
      input.push({
        region_id: regions[0].id,
        sales_channel_id: channels[0].id,
        currency_code: regions[0].currency_code,
        email: `bench${i}@example.com`,
        status: "pending",
        created_at: at,
        updated_at: at,
        items: [a, b].map((v: any, n: number) => ({
          title: v.product?.title || v.title,
          product_title: v.product?.title || v.title,
          variant_id: v.id,
          variant_sku: v.sku,
          product_id: v.product_id,
          quantity: 1 + ((i + n) % 3),
          unit_price: 10 + n,
        })),
        shipping_address: {
          first_name: "Bench",
          last_name: `Buyer ${i}`,
          address_1: `${i} Bench Street`,
          city: "Newark",
          province: "NJ",
          postal_code: "07102",
          country_code: "us",
        },
        shipping_methods: [
          {
            name: "UPS Ground",
            amount: 5,
            shipping_option_id: options[0]?.id,
            data: { carrier_code: "UPS", service_code: "03" },
          },
        ],
      })
    }
    await orders.createOrders(input as any)
    made += input.length
  }
  console.log(`TECHOMS_BENCH_ORDERS ${made}`)
}
