// The plugin's delivery rules against a local HTTP server that answers as told:
// `node --test peers/medusa/plugin/test/` (tests/medusa/test_webhook_plugin.py runs it too).
"use strict"

const assert = require("node:assert/strict")
const crypto = require("node:crypto")
const fs = require("node:fs")
const http = require("node:http")
const os = require("node:os")
const path = require("node:path")
const { after, before, beforeEach, test } = require("node:test")

const { deliverEvent, entityIds, resolveTarget, send } = require("../lib/deliver")

const SECRET = "whsec_test"
const quiet = { info() {}, warn() {}, error() {} }
const noWait = [0, 0, 0, 0]

let server
let url
let answers // statuses (or [status, headers]) to give, in order; then 202
let received // {headers, body} of each request

before(async () => {
  server = http.createServer((req, res) => {
    const chunks = []
    req.on("data", (c) => chunks.push(c))
    req.on("end", () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") })
      const next = answers.shift() ?? 202
      const [status, headers] = Array.isArray(next) ? next : [next, {}]
      res.writeHead(status, headers).end("{}")
    })
  })
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve))
  url = `http://127.0.0.1:${server.address().port}/webhooks/token/`
})

after(() => server.close())

beforeEach(() => {
  answers = []
  received = []
})

function expectedSignature(headers, body) {
  const digest = crypto
    .createHmac("sha256", SECRET)
    .update(Buffer.from(`${headers["x-techoms-timestamp"]}.${body}`))
    .digest("hex")
  return `sha256=${digest}`
}

test("a delivery is signed over its timestamp and raw body and carries the event", async () => {
  const result = await deliverEvent("order.placed", { id: "order_1" }, { url, secret: SECRET }, quiet)
  assert.equal(result.outcome, "delivered")
  const [{ headers, body }] = received
  assert.match(headers["x-techoms-timestamp"], /^\d{10}$/)
  assert.ok(Math.abs(Number(headers["x-techoms-timestamp"]) - Date.now() / 1000) < 5)
  assert.equal(headers["x-techoms-signature"], expectedSignature(headers, body))
  assert.equal(headers["content-type"], "application/json")
  const event = JSON.parse(body)
  assert.equal(event.topic, "order.placed")
  assert.deepEqual(event.entity_ids, ["order_1"])
  assert.match(event.id, /^[0-9a-f-]{36}$/)
  assert.ok(!Number.isNaN(Date.parse(event.occurred_at)))
})

test("a 5xx is retried with the same event id, each try signed afresh", async () => {
  answers = [500, 503]
  const result = await send({ url, secret: SECRET }, '{"id":"e1"}', { backoffMs: noWait, logger: quiet })
  assert.deepEqual(result, { outcome: "delivered", attempts: 3, status: 202 })
  assert.equal(received.length, 3)
  for (const { headers, body } of received) {
    assert.equal(body, '{"id":"e1"}')
    assert.equal(headers["x-techoms-signature"], expectedSignature(headers, body))
  }
})

test("a 409 (the portal has this event already) counts as delivered", async () => {
  answers = [409]
  const result = await send({ url, secret: SECRET }, "{}", { backoffMs: noWait, logger: quiet })
  assert.deepEqual(result, { outcome: "delivered", attempts: 1, status: 409 })
})

test("a 4xx other than 408 and 429 is not retried", async () => {
  for (const status of [400, 401, 404, 413]) {
    answers = [status]
    received = []
    const result = await send({ url, secret: SECRET }, "{}", { backoffMs: noWait, logger: quiet })
    assert.deepEqual(result, { outcome: "failed", attempts: 1, status })
    assert.equal(received.length, 1)
  }
})

test("408 and 429 are retried, 429 after its Retry-After", async () => {
  answers = [408, [429, { "Retry-After": "1" }]]
  const started = Date.now()
  const result = await send({ url, secret: SECRET }, "{}", { backoffMs: noWait, logger: quiet })
  assert.equal(result.outcome, "delivered")
  assert.equal(result.attempts, 3)
  assert.ok(Date.now() - started >= 950, "waited for Retry-After")
})

test("a Retry-After beyond a minute gives the delivery up instead of waiting", async () => {
  answers = [[429, { "Retry-After": "3600" }]]
  const result = await send({ url, secret: SECRET }, "{}", { backoffMs: noWait, logger: quiet })
  assert.deepEqual(result, { outcome: "gave_up", attempts: 1, status: 429 })
})

test("five tries, then the delivery is given up", async () => {
  answers = [500, 500, 500, 500, 500, 500]
  const result = await send({ url, secret: SECRET }, "{}", { backoffMs: noWait, logger: quiet })
  assert.deepEqual(result, { outcome: "gave_up", attempts: 5, status: 500 })
  assert.equal(received.length, 5)
})

test("an unreachable portal is retried like a 5xx", async () => {
  const closed = http.createServer()
  await new Promise((resolve) => closed.listen(0, "127.0.0.1", resolve))
  const deadUrl = `http://127.0.0.1:${closed.address().port}/`
  await new Promise((resolve) => closed.close(resolve))
  const result = await send({ url: deadUrl, secret: SECRET }, "{}", { backoffMs: [0, 0], logger: quiet })
  assert.deepEqual(result, { outcome: "gave_up", attempts: 3, status: null })
})

test("the target file is read at every delivery, so it can be repointed while Medusa runs", () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "techoms-")), "webhook.json")
  const env = { TECHOMS_WEBHOOK_CONFIG: file, TECHOMS_WEBHOOK_URL: "http://env", TECHOMS_WEBHOOK_SECRET: "s" }
  assert.equal(resolveTarget({}, env), null, "a missing file means: send nothing")
  fs.writeFileSync(file, JSON.stringify({ url: "http://a", secret: "1" }))
  assert.deepEqual(resolveTarget({}, env), { url: "http://a", secret: "1" })
  fs.writeFileSync(file, JSON.stringify({ url: "http://b", secret: "2" }))
  assert.deepEqual(resolveTarget({}, env), { url: "http://b", secret: "2" })
  fs.writeFileSync(file, "{not json")
  assert.throws(() => resolveTarget({}, env), /not readable JSON/)
})

test("plugin options come first, then the environment", () => {
  const env = { TECHOMS_WEBHOOK_URL: "http://env", TECHOMS_WEBHOOK_SECRET: "s" }
  assert.deepEqual(resolveTarget({ url: "http://opt", secret: "o" }, env), { url: "http://opt", secret: "o" })
  assert.deepEqual(resolveTarget({}, env), { url: "http://env", secret: "s" })
  assert.equal(resolveTarget({}, { TECHOMS_WEBHOOK_URL: "http://env" }), null)
})

test("an event with no target configured is not sent", async () => {
  const result = await deliverEvent("order.placed", { id: "order_1" }, { configFile: "/nonexistent/x.json" }, quiet)
  assert.equal(result.outcome, "unconfigured")
  assert.equal(received.length, 0)
})

test("entity ids: the order of a fulfilment, the id of everything else", () => {
  assert.deepEqual(entityIds({ order_id: "order_1", fulfillment_id: "ful_1" }), ["order_1"])
  assert.deepEqual(entityIds({ id: "prod_1" }), ["prod_1"])
  assert.deepEqual(entityIds([{ id: "ilev_1" }, { id: "ilev_2" }, { id: "ilev_1" }]), ["ilev_1", "ilev_2"])
  assert.deepEqual(entityIds(null), [])
})
