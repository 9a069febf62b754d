// The Medusa subscriber: every event below becomes one signed delivery to the techOMS
// channel. Medusa's events carry ids only; the portal fetches what changed through the
// Admin API, so the body never holds customer data.
"use strict"

const { deliverEvent } = require("./deliver")

const EVENTS = [
  "order.placed",
  "order.updated",
  "order.canceled",
  "order.fulfillment_created",
  "shipment.created",
  "product.created",
  "product.updated",
  "inventory-level.updated",
]

async function techomsWebhooks({ event, container, pluginOptions }) {
  const logger = container.resolve("logger")
  try {
    const result = await deliverEvent(event.name, event.data, pluginOptions || {}, logger)
    if (result.outcome === "delivered" && result.attempts > 1) {
      logger.info(`techOMS webhook ${event.name} delivered on try ${result.attempts}`)
    }
  } catch (error) {
    // A subscriber's exception would only be logged by Medusa too; say what it was.
    logger.error(`techOMS webhook ${event.name} not sent: ${error.message}`)
  }
}

module.exports = {
  EVENTS,
  default: techomsWebhooks,
  config: { event: EVENTS, context: { subscriberId: "techoms-webhooks" } },
}
