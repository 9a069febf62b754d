// Signs a Medusa event and POSTs it to a techOMS channel's inbound webhook URL, retrying
// what may succeed later. Plain Node (global fetch, node:crypto), no dependencies, so the
// plugin installs into any Medusa 2 app without a build step.
"use strict"

const crypto = require("node:crypto")
const fs = require("node:fs")

// Waits before the 2nd..5th try: five tries over about a minute (1+4+15+40 s, plus each
// try's own time), long enough to ride out a portal restart, short enough that Medusa's
// process does not hold many events for a portal that is gone.
const DEFAULT_BACKOFF_MS = [1000, 4000, 15000, 40000]
const TIMEOUT_MS = 10000
// A Retry-After longer than this is not waited for: the delivery is given up instead.
const MAX_RETRY_AFTER_MS = 60000

/** The target of a delivery: plugin options, else the JSON file named by
 * TECHOMS_WEBHOOK_CONFIG (read at every delivery, so it can be repointed while Medusa
 * runs), else TECHOMS_WEBHOOK_URL / TECHOMS_WEBHOOK_SECRET. Null when none is set. */
function resolveTarget(options = {}, env = process.env) {
  if (options.url && options.secret) {
    return { url: options.url, secret: options.secret }
  }
  const file = options.configFile || env.TECHOMS_WEBHOOK_CONFIG
  if (file) {
    let parsed
    try {
      parsed = JSON.parse(fs.readFileSync(file, "utf8"))
    } catch (error) {
      if (error.code === "ENOENT") return null
      throw new Error(`techOMS webhook config ${file} is not readable JSON: ${error.message}`)
    }
    return parsed && parsed.url && parsed.secret ? { url: parsed.url, secret: parsed.secret } : null
  }
  if (env.TECHOMS_WEBHOOK_URL && env.TECHOMS_WEBHOOK_SECRET) {
    return { url: env.TECHOMS_WEBHOOK_URL, secret: env.TECHOMS_WEBHOOK_SECRET }
  }
  return null
}

/** The ids an event is about. Most Medusa events carry {id}; order.fulfillment_created
 * carries {order_id, fulfillment_id}, where the order is what the portal cares about. */
function entityIds(data) {
  const items = Array.isArray(data) ? data : [data]
  const ids = []
  for (const item of items) {
    if (!item || typeof item !== "object") continue
    const id = item.order_id || item.id
    if (typeof id === "string" && !ids.includes(id)) ids.push(id)
  }
  return ids
}

function buildBody(topic, data, now = new Date()) {
  return JSON.stringify({
    id: crypto.randomUUID(),
    topic,
    entity_ids: entityIds(data),
    occurred_at: now.toISOString(),
  })
}

/** The headers of a delivery of `body` (the exact bytes sent) at `timestamp` seconds. */
function signatureHeaders(secret, body, timestamp = Math.floor(Date.now() / 1000)) {
  const signed = `${timestamp}.${body}`
  const digest = crypto.createHmac("sha256", secret).update(signed, "utf8").digest("hex")
  return {
    "Content-Type": "application/json",
    "X-Techoms-Timestamp": String(timestamp),
    "X-Techoms-Signature": `sha256=${digest}`,
  }
}

/** "delivered" (2xx, or 409: the portal already has this event id), "retry" or "fail". */
function classify(status) {
  if ((status >= 200 && status < 300) || status === 409) return "delivered"
  if (status === 408 || status === 429 || status >= 500) return "retry"
  return "fail"
}

function retryAfterMs(header) {
  if (!header) return null
  const seconds = Number(header)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const at = Date.parse(header)
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now())
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Sends `body` to the target until it is delivered, refused for good, or the tries run
 * out. Each try is signed afresh: the portal refuses timestamps far from its clock.
 * Returns {outcome, attempts, status}. */
async function send(target, body, { backoffMs = DEFAULT_BACKOFF_MS, logger = console } = {}) {
  let status = null
  for (let attempt = 1; ; attempt++) {
    let wait = null
    try {
      const response = await fetch(target.url, {
        method: "POST",
        headers: signatureHeaders(target.secret, body),
        body,
        signal: AbortSignal.timeout(TIMEOUT_MS),
      })
      status = response.status
      await response.arrayBuffer()
      const verdict = classify(status)
      if (verdict === "delivered") return { outcome: "delivered", attempts: attempt, status }
      if (verdict === "fail") {
        logger.error(`techOMS webhook refused with HTTP ${status}; not retried`)
        return { outcome: "failed", attempts: attempt, status }
      }
      wait = retryAfterMs(response.headers.get("retry-after"))
    } catch (error) {
      status = null
      logger.warn(`techOMS webhook try ${attempt} failed: ${error.message}`)
    }
    if (attempt > backoffMs.length || (wait !== null && wait > MAX_RETRY_AFTER_MS)) {
      logger.error(`techOMS webhook given up after ${attempt} tries (last HTTP ${status})`)
      return { outcome: "gave_up", attempts: attempt, status }
    }
    await sleep(Math.max(backoffMs[attempt - 1], wait || 0))
  }
}

/** Delivers one Medusa event (name and data as the event bus gives them). */
async function deliverEvent(topic, data, options = {}, logger = console) {
  const target = resolveTarget(options)
  if (!target) {
    logger.warn(`techOMS webhook for ${topic} ${entityIds(data).join(",")} not sent: no URL and secret configured`)
    return { outcome: "unconfigured", attempts: 0, status: null }
  }
  return send(target, buildBody(topic, data), { backoffMs: options.backoffMs, logger })
}

module.exports = {
  DEFAULT_BACKOFF_MS,
  buildBody,
  classify,
  deliverEvent,
  entityIds,
  resolveTarget,
  retryAfterMs,
  send,
  signatureHeaders,
}
