import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createApp } from "../../src/server.js";

let server;
let base;
before(async () => {
  server = createApp();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${server.address().port}`;
});
after(() => server.close());

test("health", async () => {
  const res = await fetch(`${base}/healthz`);
  assert.equal(res.status, 200);
});
test("an order is priced and announced", async () => {
  const res = await fetch(`${base}/orders`, {
    method: "POST",
    body: JSON.stringify({
      id: "o9",
      customer: "bo",
      lines: [{ sku: "a", quantity: 1, unitPrice: 2 }],
    }),
  });
  assert.equal(res.status, 201);
  const body = await res.json();
  assert.equal(body.totalCents, 200);
  assert.equal(body.event.type, "order.created");
});
test("a bad order is refused with reasons", async () => {
  const res = await fetch(`${base}/orders`, { method: "POST", body: "{}" });
  assert.equal(res.status, 422);
});
