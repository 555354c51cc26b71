// ESLint flat config: typescript-eslint's recommended rules everywhere we write code, plus the Lit and
// web-component rules for the element. The Edge Function (Deno) is checked by `deno check/lint` instead.
import { defineConfig, globalIgnores } from 'eslint/config';
import lit from 'eslint-plugin-lit';
import wc from 'eslint-plugin-wc';
import tseslint from 'typescript-eslint';

export default defineConfig([
  globalIgnores(['dist/', 'build/', 'node_modules/', 'coverage/', 'supabase/functions/', '.data/', 'bench/profiles/', 'test-results/']),
  {
    files: [
      'src/**/*.ts',
      'test/**/*.{ts,js}',
      'bench/**/*.ts',
      'scripts/**/*.js',
      'bin/**/*.js',
      'demo/**/*.{js,ts}',
      '*.{js,ts}',
    ],
    extends: [tseslint.configs.recommended],
    rules: {
      // `_name` marks a parameter or binding that is unused on purpose.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  // Layers of the server (STYLE.md): cli/ may start the server through node/, never the other way round;
  // the portable core (app, http/, store/, upstream/, data/ …) uses neither; data/ (owner operations, for the
  // CLI and the owner API) sits below the proxy and uses only the Db interface and plain modules.
  {
    files: ['src/server/node/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '(^|/)cli/', message: 'node/ must not import cli/: put what both need below them (data/, embed.ts …).' }] }],
    },
  },
  {
    files: ['src/server/**/*.ts'],
    ignores: ['src/server/node/**', 'src/server/cli/**', 'src/server/data/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '(^|/)(node|cli)/', message: 'the portable core must not import the Node entry or the CLI.' }] }],
    },
  },
  {
    files: ['src/server/data/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        // upstream/builtin-agents.ts is a constant (the demo agent's id), not the upstream itself
        { patterns: [{ regex: '(^|/)(node|cli|http|store)/|/upstream/(?!builtin-agents\\.ts$)|/app\\.ts$', message: 'data/ sits below the proxy and the entries: use the Db interface only.' }] },
      ],
    },
  },
  {
    files: ['src/element/**/*.ts', 'src/console/**/*.ts'],
    extends: [lit.configs['flat/recommended'], wc.configs['flat/recommended']],
  },
]);
