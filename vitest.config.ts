import { defineConfig } from 'vitest/config';

// Suites under test/api run twice: in embedded mode (Conveyor's own PostgreSQL server) and on a PostgreSQL server.
// test/unit needs no database and runs once.
const dual = ['test/api/**/*.test.ts'];
const tasks = ['test/tasks/**/*.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: process.env.CI ? ['default'] : ['default'],
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { extends: true, test: { name: 'embedded', include: dual, env: { CONVEYOR_TEST_DB: 'embedded' } } },
      { extends: true, test: { name: 'postgres', include: dual, env: { CONVEYOR_TEST_DB: 'postgres' } } },
      // The monitor in Debian's Chromium (playwright-core) against a real HTTP server, embedded mode.
      { extends: true, test: { name: 'browser', include: ['test/browser/**/*.test.ts'], env: { CONVEYOR_TEST_DB: 'embedded', CONVEYOR_TEST_BROKER: 'embedded' }, testTimeout: 120_000 } },
      // Process lifecycle and outages: real child processes, real PostgreSQL behind a cuttable proxy.
      { extends: true, test: { name: 'ops', include: ['test/ops/**/*.test.ts'], env: { CONVEYOR_TEST_DB: 'postgres' } } },
      // The task engine, once per backend: BullMQ on Redis, on PostgreSQL, on the embedded PostgreSQL.
      { extends: true, test: { name: 'tasks-redis', include: tasks, env: { CONVEYOR_TEST_DB: 'postgres', CONVEYOR_TEST_BROKER: 'redis' } } },
      { extends: true, test: { name: 'tasks-postgres', include: tasks, env: { CONVEYOR_TEST_DB: 'postgres', CONVEYOR_TEST_BROKER: 'postgres' } } },
      { extends: true, test: { name: 'celery', include: ['test/celery/**/*.test.ts'], env: { CONVEYOR_TEST_DB: 'postgres', CONVEYOR_TEST_BROKER: 'redis' } } },
      { extends: true, test: { name: 'tasks-embedded', include: tasks, env: { CONVEYOR_TEST_DB: 'embedded', CONVEYOR_TEST_BROKER: 'embedded' } } },
    ],
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      reporter: ['text-summary', 'lcov'],
      reportsDirectory: 'coverage',
    },
  },
});
