import { defineConfig } from 'vitest/config';

// Suites under test/api run twice: on embedded PGlite and on real PostgreSQL.
// test/unit needs no database and runs once.
const dual = ['test/api/**/*.test.ts'];

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
      // Process lifecycle and outages: real child processes, real PostgreSQL behind a cuttable proxy.
      { extends: true, test: { name: 'ops', include: ['test/ops/**/*.test.ts'], env: { CONVEYOR_TEST_DB: 'postgres' } } },
    ],
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      reporter: ['text-summary', 'lcov'],
      reportsDirectory: 'coverage',
    },
  },
});
