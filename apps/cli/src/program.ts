import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { alertsCommand } from './commands/alerts.js';
import { appsCommand, policiesCommand } from './commands/apps.js';
import { auditCommand } from './commands/audit.js';
import { tokensCommand } from './commands/tokens.js';
import { Context, type GlobalOptions, type Runtime } from './context.js';
import { CliError, ExitCode } from './errors.js';

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const HELP_FOOTER = `
Connection:
  GATEHOUSE_API_URL      the admin API (default http://127.0.0.1:8080)
  GATEHOUSE_ADMIN_TOKEN  the admin token; inside the project folder .gatehouse/admin-token is read

Exit codes: 0 done, 1 the API refused (its message is printed), 2 usage error, 3 the API cannot be reached.`;

/** The whole command tree. `stop` ends `audit tail --follow`. */
export function buildProgram(runtime: Runtime, stop: AbortSignal): Command {
  const program = new Command('gatehouse')
    .description('Manage Gatehouse service tokens, applications, policies, alerts and the audit log')
    .version(VERSION, '-V, --version')
    .addOption(new Option('--account <id>', 'the account to work in (default: the first, usually the only, account)'))
    .addOption(new Option('--json', 'print the API objects as JSON (for scripts)'))
    .addHelpText('after', HELP_FOOTER)
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ writeOut: (s) => runtime.output.out(s), writeErr: (s) => runtime.output.err(s) });

  let context: Context | undefined;
  const ctx = () => (context ??= new Context(runtime, program.opts<GlobalOptions>()));
  for (const command of [tokensCommand(ctx), appsCommand(ctx), policiesCommand(ctx), alertsCommand(ctx), auditCommand(ctx, stop)]) {
    program.addCommand(command);
  }
  // Every level answers --help, usage errors exit 2, and a group without a subcommand shows its help.
  const configure = (cmd: Command) => {
    cmd
      .exitOverride()
      .showHelpAfterError('(add --help for usage)')
      .configureOutput({ writeOut: (s) => runtime.output.out(s), writeErr: (s) => runtime.output.err(s) });
    cmd.commands.forEach(configure);
  };
  configure(program);
  return program;
}

/** Runs one command line; returns the exit code. Errors are printed in words, never as stacks. */
export async function run(argv: string[], runtime: Runtime, stop: AbortSignal): Promise<ExitCode> {
  const program = buildProgram(runtime, stop);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ExitCode.OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version "errors" are successes; a group called bare prints its help and is a usage error.
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return ExitCode.OK;
      return ExitCode.USAGE;
    }
    if (error instanceof CliError) {
      runtime.output.err(`gatehouse: ${error.message}`);
      return error.exitCode;
    }
    runtime.output.err(`gatehouse: unexpected failure: ${error instanceof Error ? error.message : String(error)}`);
    return ExitCode.REFUSED;
  }
}
