#!/usr/bin/env node
// The `mistral-agent-chat` command (also installed as `mistral-agent-chat-server`): the compiled CLI in
// dist/server/, plain JavaScript, so nothing compiles TypeScript at run time. In a checkout `npm run build`
// makes it (`npm start` builds it when it is missing or older than the sources).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/server/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  console.error('mistral-agent-chat: dist/server/ is missing; in a checkout, run "npm run build" first.');
  process.exit(1);
}
const { main } = await import(entry.href);
const code = await main(process.argv.slice(2));
if (code !== undefined) process.exitCode = code;
