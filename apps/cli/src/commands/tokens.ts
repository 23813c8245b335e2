import { Command } from 'commander';
import { type Context, isUuid, pickOne } from '../context.js';
import { apiDuration, parseCliDuration } from '../durations.js';
import { json, table, when } from '../output.js';

export interface Token {
  id: string;
  client_id: string;
  name: string;
  duration: string;
  expires_at: string | null;
  last_seen_at: string | null;
  enabled: boolean;
  client_secret_version: number;
  previous_client_secret_expires_at: string | null;
  client_secret?: string;
}

type Ctx = () => Context;
const describe = (t: Token) => `${t.id}  ${t.name}  (${t.client_id}, expires ${when(t.expires_at)})`;

/** A token by id, or by a name that exactly one token has. */
export async function findToken(ctx: Context, ref: string): Promise<Token> {
  const base = await ctx.path('/access/service_tokens');
  if (isUuid(ref)) return ctx.api.get<Token>(`${base}/${ref}`);
  const named = await ctx.api.all<Token>(base, { name: ref });
  if (named.length === 1) return named[0]!;
  const candidates = named.length ? named : await ctx.api.all<Token>(base, { search: ref });
  return pickOne(candidates, ref, 'service token', describe);
}

function printToken(ctx: Context, t: Token, headline?: string): void {
  if (ctx.json) return ctx.out(json(t));
  const lines = [
    ...(headline ? [headline] : []),
    `ID                        ${t.id}`,
    `Name                      ${t.name}`,
    `CF-Access-Client-Id       ${t.client_id}`,
    ...(t.client_secret ? [`CF-Access-Client-Secret   ${t.client_secret}`] : []),
    `Enabled                   ${t.enabled ? 'yes' : 'no'}`,
    `Duration                  ${t.duration}`,
    `Expires                   ${when(t.expires_at)}`,
    `Last seen                 ${when(t.last_seen_at)}`,
    `Secret version            ${t.client_secret_version}`,
    ...(t.previous_client_secret_expires_at ? [`Previous secret valid to  ${when(t.previous_client_secret_expires_at)}`] : []),
    ...(t.client_secret ? ['', 'The client secret is shown only this once: store it now.'] : []),
  ];
  ctx.out(lines.join('\n'));
}

export function tokensCommand(ctx: Ctx): Command {
  const tokens = new Command('tokens').description('service tokens: create, list, refresh, rotate, disable, enable, delete');

  tokens
    .command('create')
    .description('create a service token; its client secret is printed this once')
    .requiredOption('--name <name>', 'the token name')
    .option('--duration <duration>', 'lifetime: 720h, 30d, 8760h (the default) or forever')
    .action(async (opts: { name: string; duration?: string }) => {
      const c = ctx();
      const token = await c.api.post<Token>(await c.path('/access/service_tokens'), {
        name: opts.name,
        ...(opts.duration !== undefined ? { duration: apiDuration(opts.duration) } : {}),
      });
      printToken(c, token, c.json ? undefined : `Created service token "${token.name}".`);
    });

  tokens
    .command('list')
    .description('list service tokens')
    .option('--search <text>', 'only tokens whose name or client id contains this text')
    .option('--expiring-within <duration>', 'only tokens that expire within this time from now, e.g. 7d')
    .action(async (opts: { search?: string; expiringWithin?: string }) => {
      const c = ctx();
      const now = Date.now();
      const within = opts.expiringWithin === undefined ? undefined : parseCliDuration(opts.expiringWithin, '--expiring-within');
      const items = await c.api.all<Token>(await c.path('/access/service_tokens'), {
        search: opts.search,
        expires_after: within === undefined ? undefined : new Date(now).toISOString(),
        expires_before: within === undefined ? undefined : new Date(now + within).toISOString(),
      });
      if (c.json) return c.out(json(items));
      if (items.length === 0) return c.out('No service tokens match.');
      c.out(
        table(
          ['ID', 'NAME', 'CLIENT ID', 'ENABLED', 'EXPIRES', 'LAST SEEN'],
          items.map((t) => [t.id, t.name, t.client_id, t.enabled ? 'yes' : 'no', when(t.expires_at), when(t.last_seen_at)]),
        ),
      );
    });

  tokens
    .command('get')
    .description('show one service token')
    .argument('<token>', 'token id or name')
    .action(async (ref: string) => {
      const c = ctx();
      printToken(c, await findToken(c, ref));
    });

  const change = (name: string, description: string, run: (c: Context, base: string, t: Token) => Promise<Token>, verb: string) =>
    tokens
      .command(name)
      .description(description)
      .argument('<token>', 'token id or name')
      .action(async (ref: string) => {
        const c = ctx();
        const token = await findToken(c, ref);
        const result = await run(c, `${await c.path('/access/service_tokens')}/${token.id}`, token);
        printToken(c, result, c.json ? undefined : `${verb} service token "${result.name}".`);
      });

  change('refresh', 'extend a token: expires_at becomes now + its duration', (c, path) => c.api.post<Token>(`${path}/refresh`), 'Refreshed');
  change('disable', 'disable a token (the gateway refuses it until enabled)', (c, path) => c.api.put<Token>(path, { enabled: false }), 'Disabled');
  change('enable', 'enable a disabled token', (c, path) => c.api.put<Token>(path, { enabled: true }), 'Enabled');
  change('delete', 'delete (revoke) a token', (c, path) => c.api.delete<Token>(path), 'Deleted');

  tokens
    .command('rotate')
    .description('issue a new client secret (printed this once); --grace keeps the previous one valid for a while')
    .argument('<token>', 'token id or name')
    .option('--grace <duration>', 'how long the previous secret keeps working, e.g. 24h (default: not at all)')
    .action(async (ref: string, opts: { grace?: string }) => {
      const c = ctx();
      const grace = opts.grace === undefined ? undefined : parseCliDuration(opts.grace, '--grace');
      const token = await findToken(c, ref);
      const rotated = await c.api.post<Token>(
        `${await c.path('/access/service_tokens')}/${token.id}/rotate`,
        grace === undefined ? {} : { previous_client_secret_expires_at: new Date(Date.now() + grace).toISOString() },
      );
      printToken(c, rotated, c.json ? undefined : `Rotated the secret of service token "${rotated.name}".`);
    });

  return tokens;
}
