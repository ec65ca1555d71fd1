import { createServer } from "node:http";
import { makeEvent } from "./events.js";
import { orderTotal, validateOrder } from "./orders.js";

/** The HTTP API: POST /orders validates and prices an order; GET /healthz answers ok. */
export function createApp() {
  return createServer((req, res) => {
    if (req.method === "GET" && req.url === "/healthz") {
      res.writeHead(200, { "content-type": "application/json" }).end('{"status":"ok"}');
      return;
    }
    if (req.method === "POST" && req.url === "/orders") {
      let body = "";
      req.on("data", (/** @type {Buffer} */ c) => {
        body += c;
      });
      req.on("end", () => {
        let order;
        try {
          order = JSON.parse(body);
        } catch {
          res
            .writeHead(400, { "content-type": "application/json" })
            .end('{"errors":["body must be JSON"]}');
          return;
        }
        const errors = validateOrder(order);
        if (errors.length > 0) {
          res
            .writeHead(422, { "content-type": "application/json" })
            .end(JSON.stringify({ errors }));
          return;
        }
        const totalCents = orderTotal(order);
        const event = makeEvent("order.created", {
          orderId: order.id,
          customer: order.customer,
          totalCents,
        });
        res
          .writeHead(201, { "content-type": "application/json" })
          .end(JSON.stringify({ totalCents, event }));
      });
      return;
    }
    res.writeHead(404).end();
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const port = Number(process.env.PORT ?? 8080);
  createApp().listen(port, () => console.log(`orders-api listening on ${port}`));
}
