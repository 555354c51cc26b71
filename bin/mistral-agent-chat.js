#!/usr/bin/env node
// The package ships its TypeScript sources: tsx compiles them on the fly (it is a runtime dependency).
import { existsSync } from 'node:fs';
import { register } from 'tsx/esm/api';

// Our own tsconfig when present (a checkout); never the tsconfig of whatever folder the command runs in.
const tsconfig = new URL('../tsconfig.json', import.meta.url);
register({ tsconfig: existsSync(tsconfig) ? tsconfig.pathname : false });

const { main } = await import('../src/server/cli/main.ts');
const code = await main(process.argv.slice(2));
if (code !== undefined) process.exitCode = code;
