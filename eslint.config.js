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
  {
    files: ['src/element/**/*.ts', 'src/console/**/*.ts'],
    extends: [lit.configs['flat/recommended'], wc.configs['flat/recommended']],
  },
]);
