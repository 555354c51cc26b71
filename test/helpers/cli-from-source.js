#!/usr/bin/env node
// The `mistral-agent-chat` command run from the TypeScript sources (tsx compiles them on the fly), so the
// tests exercise src/ as it is, without a build. The published bin (bin/mistral-agent-chat.js) runs the
// compiled dist/server/ instead; test/node/packages.test.ts starts that one from the packed tarball.
import { register } from 'tsx/esm/api';

// Our own tsconfig, never the tsconfig of whatever folder the command runs in (tests use temp folders).
register({ tsconfig: new URL('../../tsconfig.json', import.meta.url).pathname });

const { main } = await import('../../src/server/cli/main.ts');
const code = await main(process.argv.slice(2));
if (code !== undefined) process.exitCode = code;
