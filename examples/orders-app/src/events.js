/** The events the orders service publishes, with the fields each must carry. */
export const EVENT_SCHEMAS = {
  "order.created": ["orderId", "customer", "totalCents"],
  "order.cancelled": ["orderId", "reason"],
};

/**
 * Builds an event, refusing one that does not match its schema.
 * @param {keyof typeof EVENT_SCHEMAS} type
 * @param {Record<string, unknown>} data
 */
export function makeEvent(type, data) {
  const fields = EVENT_SCHEMAS[type];
  if (!fields) throw new Error(`unknown event type ${type}`);
  const missing = fields.filter((f) => !(f in data));
  if (missing.length > 0) throw new Error(`${type} is missing ${missing.join(", ")}`);
  return { type, data, version: 1 };
}
