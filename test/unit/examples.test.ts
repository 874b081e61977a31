/**
 * The example task module, loaded the way TASK_MODULES loads one (it imports `conveyor/tasks`,
 * the package's own export), runs its workflow inline: the chord's body adds up its header.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { createTaskClient, loadTaskModules, TaskRegistry } from '../../src/tasks/index.ts';

describe('examples/orders.ts', () => {
  it('registers its tasks and prices an order through a chord and a chain', async () => {
    const registry = await loadTaskModules(new TaskRegistry(), ['./examples/orders.ts']);
    expect(registry.all().map((t) => t.name).sort()).toEqual(['examples.notify_customer', 'examples.price_line', 'examples.rebuild_report', 'examples.total_order']);
    const { orderWorkflow } = await import('../../examples/orders.ts');
    const tasks = await createTaskClient({ config: loadConfig({ NODE_ENV: 'test' }), registry, eager: true });
    const { id } = await tasks.workflow(orderWorkflow({ id: 'o-1', shop: 'north', email: 'a@example.com', lines: [{ sku: 'apple', qty: 4 }, { sku: 'fig', qty: 2 }] }));
    const w = await tasks.getWorkflow(id);
    expect(w?.state).toBe('SUCCESS');
    expect(w?.tasks.find((t) => t.name === 'examples.total_order')?.result).toEqual({ orderId: 'o-1', lines: 2, total: 4.5 });
    expect(w?.result).toEqual({ to: 'a@example.com', text: 'Your order o-1 comes to 4.50' });
  });
});
