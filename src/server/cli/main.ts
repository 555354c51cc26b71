/**
 * The `mistral-agent-chat` command line (Node-only). Exit codes: 0 done, 1 failed, 2 usage error.
 * Heavy modules (database drivers, the server) load only for the command that needs them.
 */
import { UsageError } from './args.ts';
import { HELP } from './help.ts';
import type { Io } from './commands.ts';
import { didYouMean } from './suggest.ts';

const COMMANDS = ['serve', 'migrate', 'agent', 'owner', 'library', 'stats', 'maintenance', 'visitor', 'init', 'help'];
// Kept here, not imported from owner.ts: --help and usage errors load nothing heavy.
const OWNER_SUBCOMMANDS = ['create', 'list', 'reset-password', 'delete'];
const AGENT_SUBCOMMANDS = ['create', 'list', 'update', 'rotate-key', 'disable', 'enable', 'link-mistral', 'unlink-mistral'];

type Env = Record<string, string | undefined>;

const defaultIo: Io = {
  out: (text) => process.stdout.write(text + '\n'),
  err: (text) => process.stderr.write(text + '\n'),
};

/** Runs one command; resolves to the exit code, or undefined when the process keeps running (serve). */
export async function main(argv: string[], env: Env = process.env, io: Io = defaultIo): Promise<number | undefined> {
  const [command, ...rest] = argv;
  const sub = (command === 'agent' || command === 'owner' || command === 'init' || command === 'library' || command === 'visitor') && rest[0] && !rest[0].startsWith('-') ? rest[0] : undefined;
  const args = sub ? rest.slice(1) : rest;
  const helpKey = sub ? `${command} ${sub}` : (command ?? '');
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      io.out(HELP['']!);
      return command === undefined ? 2 : 0;
    }
    if (!COMMANDS.includes(command)) throw new UsageError(`unknown command "${command}"${didYouMean(command, COMMANDS)}`);
    if (command === 'agent' && sub !== undefined && !AGENT_SUBCOMMANDS.includes(sub)) {
      throw new UsageError(`unknown agent subcommand "${sub}"${didYouMean(sub, AGENT_SUBCOMMANDS)}`, 'agent');
    }
    if (command === 'owner' && sub !== undefined && !OWNER_SUBCOMMANDS.includes(sub)) {
      throw new UsageError(`unknown owner subcommand "${sub}"${didYouMean(sub, OWNER_SUBCOMMANDS)}`, 'owner');
    }
    if (args.includes('--help') || args.includes('-h')) {
      const text = HELP[helpKey] ?? HELP[command];
      if (text === undefined) throw new UsageError(`unknown command "${command}"`);
      io.out(text);
      return 0;
    }
    const commands = await import('./commands.ts');
    switch (command) {
      case 'serve': {
        const { serveCommand } = await import('./serve.ts');
        return await serveCommand(args, env, io);
      }
      case 'migrate':
        return await commands.migrateCommand(args, env, io);
      case 'agent':
        if (sub === 'link-mistral' || sub === 'unlink-mistral') return await (await import('./mistral.ts')).mistralAgentCommand(sub, args, env, io);
        return await commands.agentCommand(sub, args, env, io);
      case 'owner':
        return await (await import('./owner.ts')).ownerCommand(sub, args, env, io);
      case 'library':
        return await (await import('./mistral.ts')).libraryCommand(sub, args, env, io);
      case 'stats':
        return await commands.statsCommand(args, env, io);
      case 'maintenance':
        return await commands.maintenanceCommand(args, env, io);
      case 'visitor':
        return await commands.visitorCommand(sub, args, env, io);
      case 'init': {
        const { initCommand } = await import('./init-supabase.ts');
        return await initCommand(sub, args, io);
      }
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`error: ${err.message}`);
      io.err(`Run "mistral-agent-chat ${err.command ? err.command + ' ' : ''}--help" for usage.`);
      return 2;
    }
    io.err(`error: ${describe(err)}`);
    return 1;
  }
}

/** One readable line for a failure, with the database's own wording when it is a database error. */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err instanceof AggregateError && err.errors.length > 0) return describe(err.errors[0]);
  const code = (err as { code?: string }).code;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ETIMEDOUT') {
    return `cannot reach the database (${err.message}). Is PostgreSQL running at DATABASE_URL?`;
  }
  return err.message;
}
