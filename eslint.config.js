// @ts-check
// `npm run lint` (also run by `npm test`): typescript-eslint's recommended rules and the import boundaries of the
// layers in README.md (sensing, enforcement, shared, tools). Formatting is Prettier's (.prettierrc.json).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import boundaries from './scripts/eslint/boundaries.js';

const root = import.meta.dirname;

/** Tests, the contract suites, test fixtures and the benchmarks: they may drive any part's internals. */
const testCode = ['\\.(test|contract)\\.ts$', '(^|/)testdata/', '^(test|bench)/'];

/**
 * What a folder offers the others, beyond its index.ts, each with the reason. Product code of another folder may
 * import only these (the composition root app/ and the tools are exempt, see `anyInternals`). A file that is not
 * listed is the folder's own business and may change without looking outside it.
 * @type {Record<string, Record<string, string>>}
 */
const publicEntries = {
  alerts: {
    'manager.ts': 'the alert manager: cases, the console and the API raise and read alerts through it',
    'routes.ts': 'the alerts routes plugin, registered by the HTTP server',
    'types.ts': 'the Alert type, listed, counted and exported by other parts',
  },
  analytics: {
    'service.ts': "loadRules: the console's rules page reads the rules file as the analytics do",
    'rules/schema.ts': "the rules file's schema, edited on the console's rules page",
  },
  api: {
    'assets.ts': "serving a folder's static files (the console, the party's page)",
    'errors.ts': "the one API error handler and body, set on each feature's routes plugin",
    'query.ts': 'query-string parsing shared by the routes',
    'schemas.ts': 'the zod schemas every route shares (Failure, ...)',
  },
  app: { 'config.ts': "the platform's configuration from the environment, which the operations tools read" },
  broker: {
    'auth.ts': "the embedded broker's device accounts, managed from the device registry",
    'credentials.ts': 'the MQTT credential file, written when a device is registered',
  },
  bus: {
    'types.ts': 'the bus interface every stage codes against',
    'decoded.ts': "consuming a topic through its contract's decoder",
    'memory.ts': 'the in-process bus, for tools that run stages in one process (vision/eval)',
  },
  cases: {
    'builder.ts': "a device's place as a case records it",
    'codes.ts': "the classification codes, shown on the party's page",
    'store.ts': 'the case store, backed up and pruned by operations/',
    'types.ts': 'the Case type, counted and exported by other parts',
  },
  contracts: {
    'events.ts': 'the enforcement event payload (kept out of index.ts: vision and the camera simulator need it alone)',
    'rechecks.ts': 'the re-check request and answer between notices and the vision worker',
  },
  devices: {
    'registry.ts': "the device registry, read by the console's device list",
    'types.ts': 'the device types',
  },
  edge: {
    'config.ts': "the edge agent's configuration, which the simulators write",
    'drivers/camera/': "the camera sources: the console's camera check opens a camera as the edge agent does",
    'drivers/hj212/': 'the HJ 212 codec, spoken by the monitor simulator too',
    'drivers/simulator/config.ts': "the simulator driver's configuration",
  },
  exports: { 'table.ts': 'CSV and Excel rows, streamed: the device list and the audit trail export with it' },
  ingest: { 'nbiot/': 'the NB-IoT push formats and signature, which the carrier simulator produces' },
  notices: {
    'codes.ts': "the notice's query code, which the party types on the public page",
    'local.ts': 'the local enforcing day of a camera, shown on the record page',
    'notifiers/sms-http.ts': 'the SMS gateway client, which duty also sends through',
    'notifiers/types.ts': 'the notifier interface, implemented by duty',
    'parties.ts': 'the registry of parties, read by the public page',
    'types.ts': 'the Notice type, read by cases, the party page and the statistics',
  },
  party: { 'statements.ts': "the parties' statements store, backed up and pruned by operations/" },
  review: {
    'dataset.ts': 'reviewed events as a training set, served by the cases routes',
    'routes.ts': 'the review routes plugin, registered by the HTTP server',
    'store.ts': 'the event store: every enforcement step after the vision worker reads events from it',
  },
  simulators: {
    'camera/index.ts': 'the simulated street cameras, driven by the edge agent and the vision evaluation',
    'models.ts': "the simulated sensors' signal models, run by the edge agent's simulator driver",
  },
  stats: {
    'period.ts': 'the statistics period, shared by exports and reports',
    'place.ts': 'grouping by place, shared by exports and reports',
    'routes.ts': 'who may read statistics and for how long a period, as exports and reports allow the same',
    'stats.ts': 'the statistics queries, exported and reported',
  },
  store: {
    'types.ts': 'the storage interface',
    'resolution.ts': 'the resolution of a readings query',
    'duckdb/file.ts': 'opening and serialising a DuckDB file: every DuckDB store uses it',
    'duckdb/page.ts': 'keyset pages of a DuckDB list',
    'duckdb/schema.ts': "every DuckDB store's schema version",
    'duckdb/aggregates.ts': 'the 15-minute aggregate buckets, pruned by retention',
    'duckdb/snapshot.ts': 'consistent copies of a DuckDB file, for backups',
    'routes.ts': 'the readings and dead-letter routes plugin, registered by the HTTP server',
  },
  users: {
    'guard.ts': 'the sign-in and role check in front of every route',
    'types.ts': 'the signed-in user on a request',
    'kdf.ts': 'password hashing, shared with the MQTT accounts',
    'limiter.ts': 'the failed-login limiter, shared with the broker',
  },
  vision: {
    'cameras/config.ts': 'the camera registry file: cameras, zones, their parties',
    'detectors/index.ts': 'the detector plugins by family, for the camera check',
    'evidence/store.ts': 'the evidence store: served, referenced by cases and backed up',
    'ocr/plate-text.ts': 'plate text normalisation, for lookups by plate',
    'rules/geometry.ts': 'zone geometry, for places on the map and in cases',
    'worker.ts': "the worker's live-camera message, published for the device list",
  },
};

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'data/', '.tmp/', '**/public/**', 'vision/detectors/.scratch/'] },
  {
    files: ['**/*.ts', '**/*.js'],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    rules: {
      // `_name` marks what is left out on purpose (a destructured field dropped, a callback's unused argument).
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
      // `ok && done()` and `a ? b() : c()` as statements are the house style for one-line branches.
      '@typescript-eslint/no-unused-expressions': ['error', { allowShortCircuit: true, allowTernary: true }],
      // prom-client calls a gauge's collect() with the gauge as `this`: the owner is reached as `self`.
      '@typescript-eslint/no-this-alias': ['error', { allowedNames: ['self'] }],
      // Input sanitising strips control characters with regular expressions, on purpose.
      'no-control-regex': 'off',
      // Chinese text in the templates (reports, robot messages) is spaced with the ideographic space U+3000.
      'no-irregular-whitespace': ['error', { skipStrings: true, skipTemplates: true }],
    },
  },
  // The few JavaScript files linted (this config, its rule) run on Node.
  { files: ['**/*.js'], languageOptions: { globals: globals.node } },
  {
    // Tests and benchmarks read JSON answers without declaring every shape.
    files: ['**/*.test.ts', 'test/**', 'bench/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['**/*.ts'],
    plugins: { boundaries },
    rules: {
      'boundaries/layers': [
        'error',
        {
          root,
          testCode,
          // The wire contract, the helpers and the bus: every process stands on them, so they import no part.
          foundation: ['contracts', 'runtime', 'bus'],
          // The operations tools read the platform's own configuration to find its files.
          mayImportApp: ['app', 'operations', 'test', 'bench'],
          // The composition root builds each part from its pieces; the tools drive and measure the parts.
          anyInternals: ['app', 'test', 'bench', 'scripts', 'deploy'],
          // One-job helpers, each file its own entry (runtime/time.ts, runtime/backoff.ts, ...).
          open: ['runtime'],
          publicEntries,
        },
      ],
    },
  },
);
