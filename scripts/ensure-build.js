#!/usr/bin/env node
// Before `npm start` and `npm run migrate`: build dist/ when it is missing or older than the sources, so a
// newcomer's `npm install && npm start` runs the compiled server (dist/server/, what the published package
// runs) and serves a working /widget.js without a separate step.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

// Each output, and the sources it is built from.
const outputs = {
  'dist/mistral-agent-chat.js': ['src/element', 'src/client', 'src/markdown', 'src/protocol.ts', 'src/widget.ts', 'src/widget-element.ts', 'src/define.ts', 'src/index.ts'],
  'dist/server/cli/main.js': ['src/server', 'src/protocol.ts', 'tsconfig.server.json'],
};

function newest(path) {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((f) => newest(join(path, f))));
}

const stale = Object.entries(outputs).some(([out, sources]) => !existsSync(out) || Math.max(...sources.map(newest)) > statSync(out).mtimeMs);
if (stale) {
  console.log('building dist/ (missing or older than src/) …');
  const res = spawnSync(process.execPath, ['scripts/build.js'], { stdio: 'inherit' });
  process.exit(res.status ?? 1);
}
