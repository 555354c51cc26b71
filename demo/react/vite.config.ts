/**
 * The React demo (`npm run demo:react`, or `vite demo/react`). In your own app, `npm install mistral-agent-chat`
 * and drop the aliases: here they point the package's name at this repository's sources, so the demo needs
 * no build and shows changes at once.
 */
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const src = (file: string) => fileURLToPath(new URL(`../../src/${file}`, import.meta.url));

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  // Relative asset URLs: the built app works from any path (the e2e test serves it under /react/).
  base: './',
  plugins: [react()],
  resolve: {
    alias: [
      { find: /^mistral-agent-chat$/, replacement: src('index.ts') },
      { find: /^mistral-agent-chat\/define$/, replacement: src('define.ts') },
    ],
  },
  server: { port: 5173 },
});
