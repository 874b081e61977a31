import { Option } from 'commander';
import { defineCommand, intOption } from './command.ts';

export default defineCommand({
  name: 'serve',
  description: 'Serve the HTTP API and dashboard; in embedded mode also the database and a task worker',
  configure: (cmd) =>
    cmd
      .option('--host <host>', 'interface to bind (default: HOST, 127.0.0.1)')
      .option('--port <port>', 'port to listen on (default: PORT, 8000)', intOption(0, 65535))
      .addOption(new Option('--workers <n>', 'HTTP processes sharing the port (uvicorn --workers)').default(1).argParser(intOption(1, 64)))
      .option('--no-worker', 'do not run a task worker inside this process'),
  async run(_args, opts) {
    const { serve } = await import('../server/serve.ts');
    await serve(opts as unknown as Parameters<typeof serve>[0]); // shaped and validated by configure()
  },
});
