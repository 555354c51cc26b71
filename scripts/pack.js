#!/usr/bin/env node
// `npm run pack`: the two packages published from this repository, as npm tarballs.
//   mistral-agent-chat          the element (bundler ESM, script-tag loader + chunks, IIFE, types, manifest,
//                               the owner console); depends on lit, marked, dompurify, eventsource-parser only
//   mistral-agent-chat-server   the proxy (compiled dist/server with the CLI and the Node entry, migrations, the
//                               Edge Function template, demo pages); bin `mistral-agent-chat`
// Each manifest is packages/<name>/package.json; this script stages it in <out>/<name>/ with the version and
// dependency ranges of the root package.json (the one place they are written), copies what its `files` lists,
// packs it with `npm pack`, and checks that every path the manifest points at is in the tarball.
//   node scripts/pack.js [--out build/packages] [--no-build] [--json]
// --no-build packs dist/ as it is (the caller has just built it); by default dist/ is built first.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseArgs({
  options: { out: { type: 'string', default: join(root, 'build/packages') }, 'no-build': { type: 'boolean' }, json: { type: 'boolean' } },
});
const out = resolve(opts.out);
const log = opts.json ? () => {} : (line) => console.log(line);

/** Exports a package may leave out when their build is not there yet (the console has its own build). */
const OPTIONAL_EXPORTS = new Set(['./console']);

const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const templates = readdirSync(join(root, 'packages'))
  .filter((d) => existsSync(join(root, 'packages', d, 'package.json')))
  .map((d) => JSON.parse(readFileSync(join(root, 'packages', d, 'package.json'), 'utf8')));
const ours = new Set(templates.map((t) => t.name));

if (!opts['no-build']) {
  const res = spawnSync(process.execPath, [join(root, 'scripts/build.js')], { cwd: root, stdio: opts.json ? ['ignore', 'ignore', 'inherit'] : 'inherit' });
  if (res.status !== 0) process.exit(res.status ?? 1);
}

/** Every file path a manifest points at (main, types, exports leaves, bin), without "./". */
function pointedAt(manifest) {
  const paths = [];
  const walk = (v) => {
    if (typeof v === 'string') paths.push(v);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk([manifest.main, manifest.module, manifest.types, manifest.exports, manifest.bin]);
  return [...new Set(paths.filter(Boolean).map((p) => p.replace(/^\.\//, '')))];
}

function stage(template) {
  const manifest = structuredClone(template);
  delete manifest['//'];
  delete manifest.private;
  manifest.version = rootManifest.version;
  for (const name of Object.keys(manifest.dependencies ?? {})) {
    // Our own packages go out together, at one version; the rest take the root package.json's range.
    const range = ours.has(name) ? rootManifest.version : rootManifest.dependencies?.[name];
    if (!range) throw new Error(`${manifest.name} depends on ${name}, which the root package.json's dependencies do not list`);
    manifest.dependencies[name] = range;
  }
  for (const [key, target] of Object.entries(manifest.exports ?? {})) {
    if (!OPTIONAL_EXPORTS.has(key) || pointedAt({ exports: target }).every((p) => existsSync(join(root, p)))) continue;
    log(`${manifest.name}: ${key} left out (${pointedAt({ exports: target }).join(', ')} not built)`);
    const dropped = new Set(pointedAt({ exports: target }).map((p) => `./${p}`));
    delete manifest.exports[key];
    manifest.sideEffects = manifest.sideEffects?.filter((p) => !dropped.has(p));
  }

  const dir = join(out, manifest.name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // Copy the top-level entries `files` draws from; `npm pack` then takes exactly what `files` lists.
  const tops = new Set(manifest.files.map((f) => f.split('/')[0]));
  for (const top of tops) if (existsSync(join(root, top))) cpSync(join(root, top), join(dir, top), { recursive: true });
  cpSync(join(root, 'README.md'), join(dir, 'README.md'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');

  const [packed] = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--pack-destination', out], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }),
  );
  const inTarball = new Set(packed.files.map((f) => f.path));
  const missing = pointedAt(manifest).filter((p) => !inTarball.has(p));
  if (missing.length) throw new Error(`${manifest.name}: the manifest points at files the tarball lacks: ${missing.join(', ')}`);
  return {
    name: manifest.name,
    version: manifest.version,
    tarball: join(out, packed.filename),
    files: packed.entryCount,
    size: packed.size,
    unpackedSize: packed.unpackedSize,
    dependencies: manifest.dependencies,
  };
}

mkdirSync(out, { recursive: true });
const packed = templates.map(stage);
if (opts.json) console.log(JSON.stringify(packed, null, 2));
else
  for (const p of packed)
    log(
      `${p.tarball}: ${p.files} files, ${(p.size / 1024).toFixed(0)} KB packed, ${(p.unpackedSize / 1024).toFixed(0)} KB unpacked; ` +
        `depends on ${Object.keys(p.dependencies).join(', ')}`,
    );
