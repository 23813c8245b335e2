// Shared jest settings: ESM mode (Nest 12 is ESM-only) with @swc/jest for speed.
// Type-checking happens separately (`npm run typecheck`).
export function jestConfig({ testMatch = ['<rootDir>/src/**/*.spec.ts'], ...rest } = {}) {
  return {
    testEnvironment: 'node',
    extensionsToTreatAsEsm: ['.ts', '.tsx'],
    moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
    transform: {
      '^.+\\.tsx?$': [
        '@swc/jest',
        {
          jsc: {
            parser: { syntax: 'typescript', decorators: true, tsx: true },
            transform: { legacyDecorator: true, decoratorMetadata: true, react: { runtime: 'automatic' } },
            target: 'es2022',
          },
          module: { type: 'es6' },
          sourceMaps: 'inline',
        },
      ],
    },
    testMatch,
    // Hooks and tests that start real servers (a database, a nats-server, gateways) take longer than
    // jest's 5 s on a loaded 2-core CI machine; a test that needs more sets its own.
    testTimeout: 30_000,
    // A failed assertion can skip a test's own cleanup (a gateway or server left listening), and
    // jest then waits for that handle forever: CI hung after a failure instead of reporting it.
    // Tests still close what they open (try/finally); this only keeps a failure from hanging.
    forceExit: true,
    ...rest,
  };
}
