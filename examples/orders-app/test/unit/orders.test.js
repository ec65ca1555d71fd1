import assert from "node:assert/strict";
import { test } from "node:test";
import { makeEvent } from "../../src/events.js";
import { orderTotal, validateOrder } from "../../src/orders.js";

const order = {
  id: "o1",
  customer: "ana",
  lines: [
    { sku: "a", quantity: 2, unitPrice: 1.5 },
    { sku: "b", quantity: 10, unitPrice: 1 },
  ],
};

test("a valid order has no problems", () => assert.deepEqual(validateOrder(order), []));
test("problems are named", () => {
  assert.deepEqual(validateOrder(null), ["order must be an object"]);
  assert.deepEqual(validateOrder({ id: "", customer: "", lines: [] }), [
    "id is required",
    "customer is required",
    "an order needs at least one line",
  ]);
  assert.deepEqual(
    validateOrder({ id: "x", customer: "y", lines: [{ quantity: 0, unitPrice: -1 }] }),
    [
      "line 1: quantity must be a whole number of at least 1",
      "line 1: unitPrice must be a number of at least 0",
    ],
  );
});
test("bulk lines get 10% off", () => assert.equal(orderTotal(order), 300 + 900));
test("events follow their schema", () => {
  assert.deepEqual(makeEvent("order.cancelled", { orderId: "o1", reason: "x" }).version, 1);
  assert.throws(
    () => makeEvent("order.created", { orderId: "o1" }),
    /missing customer, totalCents/,
  );
  // @ts-expect-error an unknown type is refused at run time too
  assert.throws(() => makeEvent("order.shipped", {}), /unknown event type/);
});
