/**
 * Conveyor from a script of your own (`node examples/place-order.ts <order id>`): the order's
 * workflow enqueued inside a database transaction that also records the order, so the tasks
 * exist exactly when the order does — Django's `transaction.on_commit(lambda: ….delay())`,
 * without its window where a crash loses the task. A second transaction rolls back and leaves
 * no task behind. Prints what it made as JSON.
 */
import { sql } from 'drizzle-orm';
import { connect } from 'conveyor/client';
import { orderWorkflow, rebuildReport } from './orders.ts';

const orderId = process.argv[2] ?? `o-${Date.now()}`;
const conveyor = await connect({ include: ['./examples/orders.ts'] });
try {
  const order = { id: orderId, shop: 'north', email: 'buyer@example.com', lines: [{ sku: 'apple', qty: 4 }, { sku: 'fig', qty: 2 }] };
  const placed = await conveyor.db.transaction(async (tx) => {
    await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext(${orderId}))`); // your own writes go here
    const workflow = await conveyor.tasks.workflow(orderWorkflow(order), { tx });
    const report = await conveyor.tasks.delay(rebuildReport, { orderId }, { tx, uniqueKey: orderId });
    return { workflow: workflow.id, tasks: workflow.tasks, report: report.id };
  });
  // Asked again for the same order: the unique rebuild already pending is answered.
  const again = await conveyor.tasks.delay(rebuildReport, { orderId }, { uniqueKey: orderId });
  let abandoned: string | undefined;
  await conveyor.db
    .transaction(async (tx) => {
      abandoned = (await conveyor.tasks.delay(rebuildReport, { orderId: `${orderId}-abandoned` }, { tx })).id;
      throw new Error('the order was abandoned');
    })
    .catch(() => undefined);
  console.log(JSON.stringify({ ...placed, again: again.id, deduplicated: again.deduplicated ?? false, abandoned }));
} finally {
  await conveyor.close();
}
