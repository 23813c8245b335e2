import { ApiClient } from './client.js';
import { resolveConnection } from './config.js';
import { CliError, ExitCode, usageError } from './errors.js';
import type { Output } from './output.js';

export interface GlobalOptions {
  account?: string;
  json?: boolean;
}

export interface Runtime {
  env: NodeJS.ProcessEnv;
  cwd: string;
  output: Output;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: string) => UUID.test(s);

/** What every command needs: the API client, the account, how to print. Built lazily so `--help` needs no API. */
export class Context {
  readonly api: ApiClient;
  private accountId?: string;

  constructor(
    readonly runtime: Runtime,
    readonly options: GlobalOptions,
  ) {
    this.api = new ApiClient(resolveConnection(runtime.env, runtime.cwd));
  }

  get json(): boolean {
    return this.options.json === true;
  }

  out(text: string): void {
    this.runtime.output.out(text);
  }

  /** `--account <id>`, else the only (or first) account. */
  async account(): Promise<string> {
    if (this.accountId) return this.accountId;
    if (this.options.account !== undefined) {
      if (!isUuid(this.options.account)) throw usageError(`--account must be an account id (a UUID); got "${this.options.account}"`);
      return (this.accountId = this.options.account);
    }
    const accounts = await this.api.get<Array<{ id: string; name: string }>>('/client/v4/accounts', { per_page: 50 });
    if (accounts.length === 0) throw new CliError('The admin API has no account yet; create one first (POST /client/v4/accounts).', ExitCode.REFUSED);
    if (accounts.length > 1 && !this.json) {
      this.runtime.output.err(`Using account "${accounts[0]!.name}" (${accounts[0]!.id}), the first of ${accounts.length}; --account <id> chooses another.`);
    }
    return (this.accountId = accounts[0]!.id);
  }

  /** `/client/v4/accounts/<account><suffix>`. */
  async path(suffix: string): Promise<string> {
    return `/client/v4/accounts/${await this.account()}${suffix}`;
  }
}

/**
 * Finds one item by id or by name. An id is used as given; a name must match exactly one item
 * (else a usage error listing the matches, or what comes close).
 */
export function pickOne<T extends { id: string; name: string }>(
  items: T[],
  ref: string,
  kind: string,
  describe: (item: T) => string = (item) => `${item.id}  ${item.name}`,
): T {
  const byId = items.find((i) => i.id.toLowerCase() === ref.toLowerCase());
  if (byId) return byId;
  const exact = items.filter((i) => i.name === ref);
  if (exact.length === 1) return exact[0]!;
  if (exact.length > 1) {
    throw usageError(`${exact.length} ${kind}s are named "${ref}"; use one of their ids:\n${exact.map((i) => `  ${describe(i)}`).join('\n')}`);
  }
  const close = items.filter((i) => i.name.toLowerCase().includes(ref.toLowerCase()));
  const hint = close.length
    ? `; did you mean one of these?\n${close
        .slice(0, 10)
        .map((i) => `  ${describe(i)}`)
        .join('\n')}`
    : '';
  throw new CliError(`No ${kind} is named or has the id "${ref}"${hint}`, ExitCode.REFUSED);
}
