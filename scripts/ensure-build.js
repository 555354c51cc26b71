#!/usr/bin/env node
// Before `npm start`: build the widget bundle when dist/ is missing or older than the browser sources,
// so a newcomer's `npm install && npm start` serves a working /widget.js without a separate step.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const bundle = 'dist/mistral-agent-chat.js';
const sources = ['src/element', 'src/client', 'src/markdown', 'src/protocol.ts', 'src/widget.ts', 'src/widget-element.ts', 'src/define.ts', 'src/index.ts'];

function newest(path) {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((f) => newest(join(path, f))));
}

const stale = !existsSync(bundle) || Math.max(...sources.map(newest)) > statSync(bundle).mtimeMs;
if (stale) {
  console.log('building the widget bundle (dist/ is missing or older than src/) …');
  const res = spawnSync('node', ['scripts/build.js'], { stdio: 'inherit' });
  process.exit(res.status ?? 1);
}
