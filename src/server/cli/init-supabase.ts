/**
 * `mistral-agent-chat init supabase [dir]`: puts our migrations, the Edge Function and its config.toml
 * section into a site owner's own Supabase project folder (`<dir>/supabase/`), so they deploy from their
 * project with the Supabase CLI. Never rewrites an owner's file unless told to (`--force`); config.toml is
 * only ever appended to. Node-only.
 */
import { existsSync, realpathSync, statSync } from 'node:fs';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { listMigrations, migrationsDir } from '../db/migrate.ts';
import { UsageError, parse } from './args.ts';
import type { Io } from './commands.ts';

const FUNCTION = 'mistral-agent-chat';
const SPECIFIER = 'mistral-agent-chat/server';
/** The published package the function imports the proxy from (this one: mistral-agent-chat-server). */
const SERVER_PACKAGE = 'mistral-agent-chat-server';
const packageRoot = new URL('../../../', import.meta.url);
const functionSource = new URL(`supabase/functions/${FUNCTION}/`, packageRoot);

/** What the command did, also its `--json` output. Paths are relative to the project folder. */
export interface InitResult {
  dir: string;
  written: string[];
  skipped: string[];
  config: { path: string; status: 'created' | 'appended' | 'present' | 'unrecognised'; verify_jwt: boolean | null };
  warnings: string[];
  next: string[];
}

interface PlannedFile {
  /** Path relative to the project folder, with `/` separators. */
  path: string;
  content: Buffer;
}

const CMD = 'init supabase';

export async function initCommand(sub: string | undefined, args: string[], io: Io): Promise<number> {
  if (sub !== 'supabase') {
    throw new UsageError(sub === undefined ? 'missing what to set up: "init supabase [dir]"' : `unknown init target "${sub}"`, 'init');
  }
  const { values, positionals } = parse(CMD, args, { force: { type: 'boolean' } });
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`, CMD);
  const result = await initSupabase(positionals[0] ?? '.', { force: Boolean(values.force) });
  if (values.json) io.out(JSON.stringify(result, null, 2));
  else {
    io.out(humanReport(result));
    for (const w of result.warnings) io.err(`warning: ${w}`);
  }
  return 0;
}

export async function initSupabase(dirArg: string, opts: { force: boolean }): Promise<InitResult> {
  const project = resolve(dirArg);
  if (!existsSync(project) || !statSync(project).isDirectory()) {
    throw new UsageError(`"${dirArg}" is not a folder: give your project folder (the one that holds, or will hold, supabase/)`, CMD);
  }
  const supabaseDir = join(project, 'supabase');
  if (!existsSync(supabaseDir) && (await isSupabaseFolder(project))) {
    throw new UsageError(
      `"${dirArg}" looks like a Supabase folder itself (it holds config.toml or migrations/): give the project ` +
        `folder that contains it, e.g. "mistral-agent-chat init supabase ${relative(process.cwd(), dirname(project)) || '.'}"`,
      CMD,
    );
  }
  const ownMigrations = join(supabaseDir, 'migrations');
  if (existsSync(ownMigrations) && realpathSync(ownMigrations) === realpathSync(migrationsDir)) {
    throw new UsageError('that is the mistral-agent-chat package itself: run this in your own project folder', CMD);
  }

  const warnings: string[] = [];
  const ours = await listMigrations();
  const planned: PlannedFile[] = [
    ...(await Promise.all(ours.map(async (m) => ({ path: `supabase/migrations/${basename(m.path)}`, content: await readFile(m.path) })))),
    { path: `supabase/functions/${FUNCTION}/index.ts`, content: await readFile(new URL('index.ts', functionSource)) },
    { path: `supabase/functions/${FUNCTION}/deno.json`, content: await publishedDenoJson() },
  ];

  // The Supabase CLI records one migration per version (the digits before "_"): two files with one version
  // cannot both apply, and overwriting does not help, so this is refused even with --force.
  const theirs = (await listMigrations(ownMigrations).catch(() => [])).filter((m) => !ours.some((o) => basename(o.path) === basename(m.path)));
  const clashes = theirs.filter((m) => ours.some((o) => o.version === m.version));
  if (clashes.length > 0) {
    throw new Error(
      clashes.map((m) => `supabase/migrations/${basename(m.path)} has the same version (${m.version}) as one of ours`).join('\n') +
        '\nThe Supabase CLI records one migration per version: rename yours (a new timestamp, as `supabase migration new` ' +
        'gives) and run this again. Nothing was written.',
    );
  }

  const written: string[] = [];
  const skipped: string[] = [];
  const conflicts: string[] = [];
  for (const file of planned) {
    const target = join(project, ...file.path.split('/'));
    if (!existsSync(target)) continue;
    if ((await readFile(target)).equals(file.content)) skipped.push(file.path);
    else conflicts.push(file.path);
  }
  if (conflicts.length > 0 && !opts.force) {
    throw new Error(
      `these files already exist with different content:\n${conflicts.map((p) => `  ${p}`).join('\n')}\n` +
        'Nothing was written. Run again with --force to replace them with this version of mistral-agent-chat ' +
        '(keep a copy first if you changed them).',
    );
  }

  const newMigrations = ours.filter((m) => !skipped.includes(`supabase/migrations/${basename(m.path)}`));
  const later = theirs.filter((t) => newMigrations.some((o) => sortsBefore(o.version, t.version)));
  if (later.length > 0) {
    warnings.push(
      `your supabase/migrations/ already has migrations that sort after ours (${later.map((m) => basename(m.path)).join(', ')}); ` +
        `ours (${newMigrations.map((m) => m.version).join(', ')}) sort first. If those are already applied to your project, ` +
        '`supabase db push` stops with "Found local migration files to be inserted before the last migration on remote ' +
        'database": run `supabase db push --include-all` to apply ours. They only need Supabase\'s own auth schema, so ' +
        'running first on a fresh database (`supabase db reset`) is fine.',
    );
  }

  for (const file of planned) {
    if (skipped.includes(file.path)) continue;
    const target = join(project, ...file.path.split('/'));
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, file.content);
    written.push(file.path);
  }

  const config = await ensureConfig(supabaseDir, project, warnings);
  const next = [
    ...(resolve(dirArg) === process.cwd() ? [] : [`cd ${shellArg(dirArg)}`]),
    'supabase db push',
    'supabase secrets set MISTRAL_API_KEY=…',
    `supabase functions deploy ${FUNCTION} --no-verify-jwt`,
  ];
  return { dir: project, written, skipped, config, warnings, next };
}

/** A `supabase/` folder given instead of the project folder that holds it. */
async function isSupabaseFolder(dir: string): Promise<boolean> {
  const config = join(dir, 'config.toml');
  // Other tools keep a config.toml at a project's root too (Hugo, …): only Supabase's has project_id.
  if (existsSync(config) && /^\s*project_id\s*=/m.test(await readFile(config, 'utf8'))) return true;
  return basename(dir) === 'supabase' && (existsSync(config) || existsSync(join(dir, 'migrations')));
}

const shellArg = (s: string) => (/^[\w./@:+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/**
 * Our function's deno.json with `mistral-agent-chat/server` pinned to the published server package of this exact
 * version: the migrations just written are this version's, and a newer proxy may need newer SQL.
 * (Our own deno.json may use a range; import_map.local.json points into our repository and is never copied.)
 */
async function publishedDenoJson(): Promise<Buffer> {
  const { version } = JSON.parse(await readFile(new URL('package.json', packageRoot), 'utf8')) as { version: string };
  const deno = JSON.parse(await readFile(new URL('deno.json', functionSource), 'utf8')) as { imports?: Record<string, string> };
  deno.imports = { ...deno.imports, [SPECIFIER]: `npm:${SERVER_PACKAGE}@${version}/server` };
  return Buffer.from(JSON.stringify(deno, null, 2) + '\n');
}

/** Migration versions compare as numbers ("00003" before "20240101000000"), as the Supabase CLI orders them. */
function sortsBefore(a: string, b: string): boolean {
  return BigInt(a) < BigInt(b);
}

// The function's section, as in this repository's supabase/config.toml. Paths are relative to supabase/.
const SECTION = [
  `# The mistral-agent-chat widget proxy (added by \`mistral-agent-chat init supabase\`). Visitors carry no`,
  `# Supabase JWT: the widget authenticates with its X-Api-Key header, so the platform must not require one.`,
  `[functions.${FUNCTION}]`,
  'enabled = true',
  'verify_jwt = false',
  `import_map = "./functions/${FUNCTION}/deno.json"`,
  `entrypoint = "./functions/${FUNCTION}/index.ts"`,
];

// `[functions.mistral-agent-chat]`, with the optional spaces and quotes TOML allows in a table header.
const HEADER = /^\s*\[\s*functions\s*\.\s*(?:mistral-agent-chat|"mistral-agent-chat"|'mistral-agent-chat')\s*\]\s*(?:#.*)?$/;
// The same table given another way (dotted keys, inline table): appending a header would then be a TOML error.
const OTHER_FORM = /^\s*(?:functions\s*\.\s*)?["']?mistral-agent-chat["']?\s*[.=]/;

/** Appends our section to config.toml when it is missing (creating a minimal file when there is none). */
async function ensureConfig(supabaseDir: string, project: string, warnings: string[]): Promise<InitResult['config']> {
  const file = join(supabaseDir, 'config.toml');
  const path = 'supabase/config.toml';
  if (!existsSync(file)) {
    const projectId = basename(project).replace(/[^a-zA-Z0-9_.-]+/g, '_').replace(/^[_.-]+/, '').slice(0, 40) || 'my-project';
    const lines = [
      '# Supabase CLI configuration, written by `mistral-agent-chat init supabase` because there was none',
      '# (`supabase init` writes a complete one). Every key left out keeps the Supabase CLI\'s default.',
      `project_id = "${projectId}"`,
      '',
      ...SECTION,
    ];
    await mkdir(supabaseDir, { recursive: true });
    await writeFile(file, lines.join('\n') + '\n');
    return { path, status: 'created', verify_jwt: false };
  }

  const text = await readFile(file, 'utf8');
  const lines = text.split(/\r?\n/);
  const start = lines.findIndex((l) => HEADER.test(l));
  if (start >= 0) {
    const end = lines.findIndex((l, i) => i > start && /^\s*\[/.test(l));
    const body = lines.slice(start + 1, end < 0 ? undefined : end);
    const setting = body.map((l) => /^\s*verify_jwt\s*=\s*(true|false)\b/.exec(l)).find(Boolean);
    const verifyJwt = setting ? setting[1] === 'true' : null;
    if (verifyJwt !== false) {
      warnings.push(
        `${path} has [functions.${FUNCTION}] with verify_jwt ${verifyJwt === null ? 'unset (the default is true)' : '= true'}: ` +
          'Supabase would refuse the widget\'s requests (visitors have no Supabase JWT). Set verify_jwt = false there, ' +
          'or always deploy with --no-verify-jwt. The file was left as it is.',
      );
    }
    return { path, status: 'present', verify_jwt: verifyJwt };
  }
  if (lines.some((l) => !/^\s*#/.test(l) && OTHER_FORM.test(l))) {
    warnings.push(
      `${path} mentions ${FUNCTION} outside a [functions.${FUNCTION}] header; it was left as it is: check that it sets ` +
        `verify_jwt = false for the function, or add this yourself:\n${SECTION.slice(2).join('\n')}`,
    );
    return { path, status: 'unrecognised', verify_jwt: null };
  }
  // Append only: the owner's bytes stay as they are, in their own line-ending style.
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lead = text.length === 0 || text.endsWith('\n') ? '' : eol;
  await appendFile(file, `${lead}${text.trim() === '' ? '' : eol}${SECTION.join(eol)}${eol}`);
  return { path, status: 'appended', verify_jwt: false };
}

const CONFIG_TEXT: Record<InitResult['config']['status'], string> = {
  created: 'created with project_id and [functions.mistral-agent-chat] (verify_jwt = false)',
  appended: 'appended [functions.mistral-agent-chat] (verify_jwt = false); the rest of the file is untouched',
  present: 'already has [functions.mistral-agent-chat]; left as it is',
  unrecognised: 'left as it is (see the warning below)',
};

function humanReport(r: InitResult): string {
  const rel = (p: string) => p.split('/').join(sep);
  const out = [`Supabase project folder: ${r.dir}`];
  for (const p of r.written) out.push(`  wrote    ${rel(p)}`);
  for (const p of r.skipped) out.push(`  skipped  ${rel(p)} (already there, identical)`);
  out.push(`  config   ${rel(r.config.path)}: ${CONFIG_TEXT[r.config.status]}`);
  out.push('', 'Next (with the Supabase CLI, or `npx supabase …`; `supabase link --project-ref <ref>` first if not linked):');
  for (const cmd of r.next) out.push(`  ${cmd}`);
  out.push(
    '',
    'Then create an agent (DATABASE_URL: dashboard → Connect):',
    `  DATABASE_URL=… npx mistral-agent-chat agent create --name "Support" --owner you@example.com \\`,
    `    --endpoint https://<ref>.supabase.co/functions/v1/${FUNCTION}`,
  );
  return out.join('\n');
}
