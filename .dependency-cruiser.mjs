/**
 * The layering of docs/ARCHITECTURE.md as rules: `npm run lint` fails when an import breaks
 * one. Type-only imports count for the layers (a type is a dependency of the design too) but
 * not for the cycle check or the worker's reach, since Node strips them before it loads a
 * module. test/unit/layers.test.ts breaks each rule on purpose and checks that it fails.
 *
 * @type {import('dependency-cruiser').IConfiguration}
 */
const runtimeOnly = { dependencyTypesNot: ['type-only'] };

export default {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No module may import itself through others (type-only imports aside).',
      from: { path: '^src/' },
      to: { circular: true, viaOnly: runtimeOnly },
    },
    {
      name: 'lib-is-a-leaf',
      severity: 'error',
      comment: 'src/lib holds pieces with no domain: it imports nothing of ours outside src/lib.',
      from: { path: '^src/lib/' },
      to: { path: '^src/', pathNot: '^src/lib/' },
    },
    {
      name: 'config-imports-only-lib',
      severity: 'error',
      comment: 'The configuration is read before anything else exists.',
      from: { path: '^src/config/' },
      to: { path: '^src/', pathNot: '^src/(config|lib)/' },
    },
    {
      name: 'db-imports-only-config-and-lib',
      severity: 'error',
      comment: 'The data layer knows no module, engine or HTTP code; only the table index gathers the tables.',
      from: { path: '^src/db/', pathNot: '^src/db/schema[.]ts$' },
      to: { path: '^src/', pathNot: '^src/(db|config|lib)/' },
    },
    {
      name: 'db-schema-gathers-tables-only',
      severity: 'error',
      comment: 'src/db/schema.ts (the Drizzle table index) may import table files, and nothing else outside db, config, lib.',
      from: { path: '^src/db/schema[.]ts$' },
      to: { path: '^src/', pathNot: ['^src/(db|config|lib)/', '/table[.]ts$'] },
    },
    {
      name: 'engine-knows-no-domain',
      severity: 'error',
      comment: 'The task engine runs any task; built-in tasks are registered by the composition root (src/server/runtime.ts).',
      from: { path: '^src/tasks/' },
      to: { path: '^src/(modules|app|http|server|commands)/' },
    },
    {
      name: 'http-kit-is-shared',
      severity: 'error',
      comment: 'src/http is what every module\'s routes share (error catalogue, OpenAPI pieces, SSE); it knows no module or app.',
      from: { path: '^src/http/' },
      to: { path: '^src/(modules|app|server|commands|tasks|db)/' },
    },
    {
      name: 'modules-below-the-app',
      severity: 'error',
      comment: 'Modules are mounted by the app factory and wired by the composition root; they never import either.',
      from: { path: '^src/modules/' },
      to: { path: '^src/(app|server|commands)/' },
    },
    {
      name: 'app-below-processes',
      severity: 'error',
      comment: 'The app factory returns an unstarted server; processes (src/server) and verbs (src/commands) start it.',
      from: { path: '^src/app/' },
      to: { path: '^src/(server|commands)/' },
    },
    {
      name: 'items-repository-is-one',
      severity: 'error',
      comment: 'The items SQL (hot statements, text rows, bulk, cursor) is private to its repository: import repository/index.ts.',
      from: { path: '^src/', pathNot: '^src/modules/items/repository/' },
      to: { path: '^src/modules/items/repository/', pathNot: '^src/modules/items/repository/index[.]ts$' },
    },
    {
      name: 'worker-never-loads-http',
      severity: 'error',
      comment:
        'A worker process (conveyor worker, and the sandboxed children it forks) never loads Fastify or the HTTP app, dynamic imports included.',
      from: { path: '^src/(commands/worker|server/sandbox-child)[.]ts$' },
      to: { path: ['^node_modules/(fastify|@fastify/[^/]+)/', '^src/(app|http)/'], reachable: true },
    },
  ],
  options: {
    doNotFollow: { path: '^node_modules/' },
    exclude: { path: '^src/modules/dashboard/assets/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
