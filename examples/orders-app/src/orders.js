/**
 * @typedef {{ sku: string, quantity: number, unitPrice: number }} OrderLine
 * @typedef {{ id: string, customer: string, lines: OrderLine[] }} Order
 */

/**
 * Checks an order and returns the problems found (none for a valid order).
 * @param {unknown} input
 * @returns {string[]}
 */
export function validateOrder(input) {
  const problems = [];
  if (typeof input !== "object" || input === null) return ["order must be an object"];
  const order = /** @type {Record<string, unknown>} */ (input);
  if (typeof order.id !== "string" || order.id === "") problems.push("id is required");
  if (typeof order.customer !== "string" || order.customer === "")
    problems.push("customer is required");
  if (!Array.isArray(order.lines) || order.lines.length === 0) {
    problems.push("an order needs at least one line");
  } else {
    order.lines.forEach((line, i) => {
      if (!Number.isInteger(line?.quantity) || line.quantity < 1)
        problems.push(`line ${i + 1}: quantity must be a whole number of at least 1`);
      if (typeof line?.unitPrice !== "number" || line.unitPrice < 0)
        problems.push(`line ${i + 1}: unitPrice must be a number of at least 0`);
    });
  }
  return problems;
}

/**
 * The total of an order in cents, with a 10% discount on lines of 10 or more items.
 * @param {Order} order
 * @returns {number}
 */
export function orderTotal(order) {
  let cents = 0;
  for (const line of order.lines) {
    const gross = Math.round(line.unitPrice * 100) * line.quantity;
    cents += line.quantity >= 10 ? Math.round(gross * 0.9) : gross;
  }
  return cents;
}
