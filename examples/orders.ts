/**
 * Example task module: `TASK_MODULES=./examples/orders.ts npm start`.
 *
 * An order is priced line by line at once (a chord's header), the body adds the lines up,
 * and the customer is told (a chain after the chord), at most 10 messages a second per shop
 * (a rate limit per key); a report rebuilt on every change runs once per order however often
 * it is asked for (a unique task).
 */
import { chain, chord, defineTask, Type, type TaskContext } from 'conveyor/tasks';

const PRICES: Record<string, number> = { apple: 0.5, pear: 0.75, fig: 1.25 };

export const priceLine = defineTask({
  name: 'examples.price_line',
  payload: Type.Object({ sku: Type.String(), qty: Type.Integer({ minimum: 1 }) }),
  options: { retries: 2 },
  async handler({ sku, qty }) {
    return qty * (PRICES[sku] ?? 0);
  },
});

/** A chord body: `ctx.previous` is the array of the header's results, in order. */
export const totalOrder = defineTask({
  name: 'examples.total_order',
  payload: Type.Object({ orderId: Type.String() }),
  async handler({ orderId }, ctx: TaskContext<number[]>) {
    const lines = ctx.previous ?? [];
    return { orderId, lines: lines.length, total: lines.reduce((a, b) => a + b, 0) };
  },
});

export const notifyCustomer = defineTask({
  name: 'examples.notify_customer',
  payload: Type.Object({ shop: Type.String(), email: Type.String() }),
  // Ten a second per shop across every worker: one shop's burst does not hold up the others.
  options: { rateLimit: { limit: 10, perMs: 1_000, key: (p) => p.shop } },
  async handler({ email }, ctx: TaskContext<{ orderId: string; total: number }>) {
    ctx.log.info({ order: ctx.previous?.orderId }, 'telling the customer');
    return { to: email, text: `Your order ${ctx.previous?.orderId} comes to ${ctx.previous?.total.toFixed(2)}` };
  },
});

/** Enqueue with `{ uniqueKey: orderId }`: however many changes ask for it, one rebuild per order is pending. */
export const rebuildReport = defineTask({
  name: 'examples.rebuild_report',
  payload: Type.Object({ orderId: Type.String() }),
  options: { concurrency: { limit: 2 } },
  async handler({ orderId }) {
    return { orderId, rebuiltAt: new Date().toISOString() };
  },
});

/** The order's workflow: price every line at once, add them up, then tell the customer. */
export function orderWorkflow(order: { id: string; shop: string; email: string; lines: { sku: string; qty: number }[] }) {
  return chain(chord(order.lines.map((l) => priceLine.s(l)), totalOrder.s({ orderId: order.id })), notifyCustomer.s({ shop: order.shop, email: order.email }));
}
