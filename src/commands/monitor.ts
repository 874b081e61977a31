import type { MonitorOptions } from '../server/monitor.ts';
import { defineCommand, intOption } from './command.ts';

export default defineCommand({
  name: 'monitor',
  description: 'Serve the task monitor (dashboard) alone; needs only the database and the broker',
  configure: (cmd) =>
    cmd
      .option('--host <host>', 'interface to bind (default: HOST, 127.0.0.1)')
      .option('--port <port>', 'port to listen on (default: 5555)', intOption(0, 65535)),
  async run(_args, opts) {
    const { monitor } = await import('../server/monitor.ts');
    await monitor(opts as MonitorOptions);
  },
});
