// The one ESLint config of the tree (flat config; `npm run lint`). TypeScript is linted with type
// information (typescript-eslint's project service finds each file's nearest tsconfig.json), so the
// libs must be built first: their types come from dist/*.d.ts, as for `tsc`.
//
// Chosen for what catches bugs here: promises nobody awaits or whose rejection goes nowhere,
// `any` leaking out of JSON and SQL into service code, switches that miss a new union member,
// assertions the compiler already proves. Formatting is Prettier's job (`npm run format`), so no
// stylistic rule is on.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const tests = ['**/*.spec.ts', '**/*.int-spec.ts', '**/*.e2e-spec.ts', 'apps/*/test/**', 'libs/*/test/**', 'test/**'];

export default defineConfig(
  // Build output, dependencies, caches and anything generated.
  globalIgnores([
    '**/node_modules/',
    '**/dist/',
    '**/coverage/',
    '**/.turbo/',
    '.gatehouse/',
    'test-artifacts/',
    '**/*.gen.ts',
    '**/*.generated.*',
    '**/generated/',
  ]),
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: { ...globals.node },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // (recommended's no-unnecessary-type-assertion pairs with tsconfig's noUncheckedIndexedAccess:
      // a `!` after an index read is needed; anywhere else an assertion must change something.)
      // From the strict set: each found something real here, or guards what the code relies on.
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true, requireDefaultForNonUnion: false }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }], // skips files with decorators (Nest DI reads their metadata)
      '@typescript-eslint/no-misused-spread': 'error',
      '@typescript-eslint/prefer-promise-reject-errors': 'error',
      '@typescript-eslint/return-await': ['error', 'error-handling-correctness-only'],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      // Numbers and booleans in a template literal print as expected; `undefined`, `null` and
      // objects are what this rule is for.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // Off: the fixes are mechanical and touch code other work is changing. zod 4 still
      // accepts its v3 spellings (`{ message }`, `z.string().url()`), and React's `FormEvent`
      // still works; migrate them in one pass, then turn this on.
      '@typescript-eslint/no-deprecated': 'off',
    },
  },
  {
    // Tests read JSON bodies and fakes as `any` on purpose, and fake async interfaces with
    // `async` methods that have nothing to await; checking those costs more than it finds.
    files: tests,
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/restrict-plus-operands': 'off',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true, allowAny: true }],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/unbound-method': 'off', // expect(fake.method).toHaveBeenCalled() is the point
    },
  },
  {
    // Plain JavaScript (configs, scripts, benchmarks) has no type information to lint with.
    files: ['**/*.{js,mjs,cjs}'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  {
    files: ['apps/dashboard/**/*.{ts,tsx}'],
    extends: [reactHooks.configs.flat.recommended],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      // React ignores what an event handler returns; every async handler here reports its own
      // errors (useAction, or a try/catch into state). Promises passed anywhere else are checked.
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { attributes: false } }],
      // Props typed with method syntax (`onChange(v): void`) and destructured: React never binds
      // them, so this rule only reports the normal way of writing a component.
      '@typescript-eslint/unbound-method': 'off',
      // Off for now: the React Compiler's render-purity rules flag `Date.now()` during render
      // and state set from an effect; fixing them means restructuring components that other
      // work is changing. rules-of-hooks and exhaustive-deps stay on.
      'react-hooks/exhaustive-deps': 'error', // the preset only warns, and `npm run lint` allows no warnings
      'react-hooks/purity': 'off',
      'react-hooks/set-state-in-effect': 'off',
    },
  },
);
