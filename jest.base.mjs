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
    ...rest,
  };
}
