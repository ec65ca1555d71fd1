import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { EVENT_SCHEMAS, makeEvent } from "../../src/events.js";

// The consumers' expectations, kept beside the producer: every field a consumer reads exists.
const consumers = JSON.parse(readFileSync(new URL("./consumers.json", import.meta.url), "utf8"));

for (const [consumer, reads] of Object.entries(consumers)) {
  test(`${consumer} reads only fields the events carry`, () => {
    for (const [type, fields] of Object.entries(reads)) {
      assert.ok(EVENT_SCHEMAS[type], `${consumer} reads unknown event ${type}`);
      for (const f of fields)
        assert.ok(EVENT_SCHEMAS[type].includes(f), `${consumer} reads ${type}.${f}`);
    }
  });
}

test("producing every event with its schema's fields works", () => {
  for (const [type, fields] of Object.entries(EVENT_SCHEMAS)) {
    assert.equal(makeEvent(type, Object.fromEntries(fields.map((f) => [f, 1]))).type, type);
  }
});
