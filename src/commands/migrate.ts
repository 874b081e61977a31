import { defineCommand } from './command.ts';

export default defineCommand({
  name: 'migrate',
  description: 'Apply every pending migration (application tables and the task engine)',
  configure: (cmd) => cmd,
  async run() {
    const { loadConfig, loadDotEnv } = await import('../config/index.ts');
    const { createLogger } = await import('../app/logger.ts');
    const { openData } = await import('../db/runtime.ts');
    const { migrateApp } = await import('../db/migrate.ts');
    loadDotEnv();
    const config = loadConfig();
    const logger = createLogger(config, 'migrate');
    const data = await openData(config, { command: 'migrate', logger, poolSize: 2, migrate: false });
    try {
      await migrateApp(data.database);
      logger.info({ mode: config.mode }, 'application migrations applied');
      if (!config.REDIS_URL) {
        // The task engine's tables (schema bullmq) live in the same database unless tasks are on Redis.
        const { migrateTaskEngine } = await import('../tasks/backend.ts');
        const version = await migrateTaskEngine(data.url);
        logger.info({ version }, 'task engine migrations applied');
      }
    } finally {
      await data.close();
    }
  },
});
