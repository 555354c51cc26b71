/**
 * `mistral-agent-chat owner create|list|reset-password|delete`: the accounts that sign in to the console
 * (local auth). They run as the database owner (auth.users is not the owners' to write), never `asOwner`.
 */
import {
  OwnerInputError,
  createOwner,
  deleteOwner,
  generatePassword,
  listOwners,
  ownerFootprint,
  passwordProblem,
  resetOwnerPassword,
  type OwnerAccount,
} from '../data/owners.ts';
import { loadConfig } from '../config.ts';
import { endpointFor } from '../embed.ts';
import { UsageError, noPositionals, parse, type Parsed } from './args.ts';
import { withDb, type Io } from './commands.ts';
import { table } from './output.ts';

type Env = Record<string, string | undefined>;

/** Reads the whole of stdin (a pipe, or what a person types until Ctrl-D). */
export type ReadStdin = () => Promise<string>;

const readProcessStdin: ReadStdin = async () => {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

function email(values: Parsed['values'], cmd: string): string {
  const v = values.email;
  if (typeof v !== 'string' || v.trim() === '') throw new UsageError('missing --email: the address the owner signs in with', cmd);
  if (!/^[^\s@]+@[^\s@]+$/.test(v.trim())) throw new UsageError(`--email must be an email address, got "${v}"`, cmd);
  return v.trim();
}

/** The password from stdin (one trailing newline dropped, as `echo` adds it), checked; or null to generate one. */
async function passwordFrom(values: Parsed['values'], cmd: string, readStdin: ReadStdin): Promise<string | null> {
  if (!values['password-stdin']) return null;
  const password = (await readStdin()).replace(/\r?\n$/, '');
  if (password === '') throw new UsageError('--password-stdin: stdin was empty (pipe the password in, e.g. printf %s "$PASSWORD" | …)', cmd);
  const problem = passwordProblem(password);
  if (problem) throw new UsageError(`--password-stdin: ${problem}`, cmd);
  return password;
}

function ownerTable(owners: OwnerAccount[]): string {
  if (owners.length === 0) return 'No owners yet. Create one with: mistral-agent-chat owner create --email you@example.com';
  return table(
    ['EMAIL', 'ID', 'CREATED', 'AGENTS', 'PASSWORD'],
    owners.map((o) => [o.email, o.id, o.created_at, o.agents, o.has_password ? 'set' : 'none (cannot sign in)']),
  );
}

/** Where the console is: PUBLIC_URL, else this machine on the embedded database, else "/console on your server". */
function consoleUrl(env: Env): string {
  const config = loadConfig(env);
  const endpoint = endpointFor(env, { port: config.port, embedded: !config.databaseUrl });
  return endpoint.source === 'placeholder' ? '/console on your server (set PUBLIC_URL to see its address here)' : `${endpoint.url}/console`;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Data-layer input errors become usage errors (exit 2) naming the command. */
async function asUsage<R>(cmd: string, fn: () => Promise<R>): Promise<R> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof OwnerInputError) throw new UsageError(err.message, cmd);
    throw err;
  }
}

export async function ownerCommand(sub: string | undefined, args: string[], env: Env, io: Io, readStdin: ReadStdin = readProcessStdin): Promise<number> {
  const cmd = `owner ${sub}`;
  switch (sub) {
    case 'create':
    case 'reset-password': {
      const { values, positionals } = parse(cmd, args, { email: { type: 'string' }, 'password-stdin': { type: 'boolean' } });
      noPositionals(positionals, cmd);
      const address = email(values, cmd);
      const given = await passwordFrom(values, cmd, readStdin);
      const password = given ?? generatePassword();
      const owner = await asUsage(cmd, () =>
        withDb(env, io, cmd, (db) =>
          db.transaction((tx) => (sub === 'create' ? createOwner(tx, address, password) : resetOwnerPassword(tx, address, password))),
        ),
      );
      const shown = given === null ? { password } : {};
      if (values.json) io.out(JSON.stringify({ id: owner.id, email: owner.email, ...shown }, null, 2));
      else {
        io.out(sub === 'create' ? `Created owner ${owner.email} (${owner.id}).` : `New password set for ${owner.email}.`);
        if (given === null) io.out(`Password (shown only now, keep it somewhere safe): ${password}`);
        io.out(`Sign in to the owner console with this email and password: ${consoleUrl(env)}`);
      }
      return 0;
    }
    case 'list': {
      const { values, positionals } = parse(cmd, args, {});
      noPositionals(positionals, cmd);
      const owners = await withDb(env, io, cmd, (db) => listOwners(db));
      io.out(values.json ? JSON.stringify(owners, null, 2) : ownerTable(owners));
      return 0;
    }
    case 'delete': {
      const { values, positionals } = parse(cmd, args, { email: { type: 'string' }, yes: { type: 'boolean' } });
      noPositionals(positionals, cmd);
      const address = email(values, cmd);
      const result = await asUsage(cmd, () =>
        withDb(env, io, cmd, (db) =>
          db.transaction(async (tx) => {
            const footprint = await ownerFootprint(tx, address);
            if (footprint.agents > 0 && !values.yes) return { deleted: false as const, ...footprint };
            await deleteOwner(tx, footprint.id);
            return { deleted: true as const, ...footprint };
          }),
        ),
      );
      const lost = `${plural(result.agents, 'agent')} with ${plural(result.conversations, 'conversation')} and ${plural(result.messages, 'message')}`;
      if (!result.deleted) {
        io.err(
          `error: ${result.email} owns ${lost}. Deleting the owner deletes all of them, for good ` +
            `(the widget keys stop working). Run again with --yes to delete.`,
        );
        return 1;
      }
      if (values.json) io.out(JSON.stringify({ deleted: true, id: result.id, email: result.email, agents: result.agents, conversations: result.conversations, messages: result.messages }));
      else io.out(`Deleted owner ${result.email}${result.agents > 0 ? ` and ${lost}` : ' (they had no agents)'}.`);
      return 0;
    }
    default:
      throw new UsageError(sub === undefined ? 'missing the owner subcommand: create, list, reset-password or delete' : `unknown owner subcommand "${sub}"`, 'owner');
  }
}
