import { defineCommand } from './command.ts';

export default defineCommand({
  name: 'migrate',
  description: 'Apply every pending migration (application tables and the task engine)',
  configure: (cmd) => cmd,
  async run() {
    const { withDatabase } = await import('../server/runtime.ts');
    const { migrateApp } = await import('../db/migrate.ts');
    await withDatabase('migrate', async ({ config, logger, data }) => {
      await migrateApp(data.database);
      logger.info({ mode: config.mode }, 'application migrations applied');
      if (!config.REDIS_URL) {
        // The task engine's tables (schema bullmq) live in the same database unless tasks are on Redis.
        const { migrateTaskEngine } = await import('../tasks/backend.ts');
        const version = await migrateTaskEngine(data.url);
        logger.info({ version }, 'task engine migrations applied');
      }
    }, { migrate: false });
  },
});
