// Seeds inventory items straight into a Medusa store's inventory module, for the Export
// Inventory part of bench/medusa.py: items of SKUs BENCH-00000… with no location levels
// yet (the export creates them, then updates them). Creating 2,000 products through the
// admin API takes ~6 s per 10 on a busy machine; the export needs only the items.
//
//   SEED_SKUS=2000 medusa exec /abs/path/bench/medusa_seed/seed-inventory.ts  (cwd peers/medusa)
import type { ExecArgs } from "@medusajs/framework/types"
import { Modules } from "@medusajs/framework/utils"

export default async function seedInventory({ container }: ExecArgs) {
  const inventory = container.resolve(Modules.INVENTORY)
  const total = Number(process.env.SEED_SKUS || 2000)
  const items = []
  for (let i = 0; i < total; i++) {
    const sku = `BENCH-${String(i).padStart(5, "0")}`
    items.push({ sku, title: sku })
  }
  const created = await inventory.createInventoryItems(items)
  console.log(`TECHOMS_BENCH_SKUS ${created.length}`)
}
