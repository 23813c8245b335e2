import { Command } from 'commander';
import { type Context, isUuid, pickOne } from '../context.js';
import { usageError } from '../errors.js';
import { json, table, when } from '../output.js';
import { findToken } from './tokens.js';

interface App {
  id: string;
  name: string;
  domain: string;
  aud: string;
  session_duration: string;
  upstream: string | null;
  read_service_tokens_from_header: string | null;
  created_at: string;
}

type Rule = { service_token: { token_id: string } } | { any_valid_service_token: Record<string, never> };
interface Policy {
  id: string;
  name: string;
  decision: string;
  precedence: number;
  include: Rule[];
}

type Ctx = () => Context;

/** An app by id, by name or by domain. */
async function findApp(c: Context, ref: string): Promise<App> {
  const base = await c.path('/access/apps');
  if (isUuid(ref)) return c.api.get<App>(`${base}/${ref}`);
  const apps = await c.api.all<App>(base);
  const byDomain = apps.filter((a) => a.domain === ref);
  if (byDomain.length === 1) return byDomain[0]!;
  return pickOne(apps, ref, 'application', (a) => `${a.id}  ${a.name}  (${a.domain})`);
}

function printApp(c: Context, a: App, headline?: string): void {
  if (c.json) return c.out(json(a));
  c.out(
    [
      ...(headline ? [headline] : []),
      `ID                ${a.id}`,
      `Name              ${a.name}`,
      `Domain            ${a.domain}`,
      `AUD               ${a.aud}`,
      `Upstream          ${a.upstream ?? '-'}`,
      `Session duration  ${a.session_duration}`,
      `Token header      ${a.read_service_tokens_from_header ?? '-'}`,
      `Created           ${when(a.created_at)}`,
    ].join('\n'),
  );
}

export function appsCommand(ctx: Ctx): Command {
  const apps = new Command('apps').description('Access applications (self-hosted, protected by the gateway)');

  apps
    .command('list')
    .description('list applications')
    .action(async () => {
      const c = ctx();
      const items = await c.api.all<App>(await c.path('/access/apps'));
      if (c.json) return c.out(json(items));
      if (items.length === 0) return c.out('No applications yet.');
      c.out(
        table(
          ['ID', 'NAME', 'DOMAIN', 'UPSTREAM', 'AUD'],
          items.map((a) => [a.id, a.name, a.domain, a.upstream, a.aud]),
        ),
      );
    });

  apps
    .command('get')
    .description('show one application')
    .argument('<app>', 'application id, name or domain')
    .action(async (ref: string) => {
      const c = ctx();
      printApp(c, await findApp(c, ref));
    });

  apps
    .command('create')
    .description('create a self-hosted application')
    .requiredOption('--name <name>', 'the application name')
    .requiredOption('--domain <domain>', 'the hostname (and optional path) the gateway protects, e.g. app.example.com')
    .option('--upstream <url>', 'where the gateway forwards admitted requests, e.g. http://127.0.0.1:3000')
    .option('--session-duration <duration>', 'lifetime of the JWTs the gateway issues, e.g. 24h (the default)')
    .option('--token-header <header>', 'read the service token from this single header instead of the CF-Access-Client-* pair')
    .action(async (opts: { name: string; domain: string; upstream?: string; sessionDuration?: string; tokenHeader?: string }) => {
      const c = ctx();
      const app = await c.api.post<App>(await c.path('/access/apps'), {
        name: opts.name,
        domain: opts.domain,
        type: 'self_hosted',
        ...(opts.upstream !== undefined ? { upstream: opts.upstream } : {}),
        ...(opts.sessionDuration !== undefined ? { session_duration: opts.sessionDuration } : {}),
        ...(opts.tokenHeader !== undefined ? { read_service_tokens_from_header: opts.tokenHeader } : {}),
      });
      printApp(c, app, c.json ? undefined : `Created application "${app.name}".`);
    });

  apps
    .command('delete')
    .description('delete an application and its policies')
    .argument('<app>', 'application id, name or domain')
    .action(async (ref: string) => {
      const c = ctx();
      const app = await findApp(c, ref);
      const result = await c.api.delete<{ id: string }>(`${await c.path('/access/apps')}/${app.id}`);
      c.out(c.json ? json(result) : `Deleted application "${app.name}" (${app.id}) and its policies.`);
    });

  return apps;
}

const ruleText = (r: Rule) => ('service_token' in r ? `token ${r.service_token.token_id}` : 'any valid token');

export function policiesCommand(ctx: Ctx): Command {
  const policies = new Command('policies').description("an application's Service Auth policies");
  const appOption = ['--app <app>', 'application id, name or domain'] as const;

  policies
    .command('list')
    .description("list an application's policies, by precedence")
    .requiredOption(...appOption)
    .action(async (opts: { app: string }) => {
      const c = ctx();
      const app = await findApp(c, opts.app);
      const items = await c.api.all<Policy>(`${await c.path('/access/apps')}/${app.id}/policies`);
      if (c.json) return c.out(json(items));
      if (items.length === 0) return c.out(`Application "${app.name}" has no policies: the gateway refuses every request to it.`);
      c.out(
        table(
          ['ID', 'NAME', 'PRECEDENCE', 'INCLUDE'],
          items.map((p) => [p.id, p.name, p.precedence, p.include.map(ruleText).join(', ')]),
        ),
      );
    });

  policies
    .command('create')
    .description('create a Service Auth policy admitting the named tokens (or any valid token)')
    .requiredOption(...appOption)
    .requiredOption('--name <name>', 'the policy name')
    .option('--token <token>', 'a token (id or name) to admit; repeat for several', (v: string, prev: string[] = []) => [...prev, v])
    .option('--any-token', 'admit any valid service token of the account')
    .option('--precedence <n>', 'evaluation order, 1 first (default: after the last)')
    .action(async (opts: { app: string; name: string; token?: string[]; anyToken?: boolean; precedence?: string }) => {
      const c = ctx();
      if (!opts.token?.length && !opts.anyToken) throw usageError('Name at least one --token, or --any-token.');
      let precedence: number | undefined;
      if (opts.precedence !== undefined) {
        precedence = Number(opts.precedence);
        if (!Number.isInteger(precedence) || precedence < 1) throw usageError('--precedence must be a whole number from 1');
      }
      const app = await findApp(c, opts.app);
      const include: Rule[] = [];
      for (const ref of opts.token ?? []) include.push({ service_token: { token_id: (await findToken(c, ref)).id } });
      if (opts.anyToken) include.push({ any_valid_service_token: {} });
      const policy = await c.api.post<Policy>(`${await c.path('/access/apps')}/${app.id}/policies`, {
        name: opts.name,
        decision: 'non_identity',
        include,
        ...(precedence !== undefined ? { precedence } : {}),
      });
      c.out(
        c.json
          ? json(policy)
          : `Created policy "${policy.name}" (${policy.id}) on "${app.name}", precedence ${policy.precedence}: ${policy.include.map(ruleText).join(', ')}.`,
      );
    });

  policies
    .command('delete')
    .description('delete a policy')
    .requiredOption(...appOption)
    .argument('<policy>', 'policy id or name')
    .action(async (ref: string, opts: { app: string }) => {
      const c = ctx();
      const app = await findApp(c, opts.app);
      const base = `${await c.path('/access/apps')}/${app.id}/policies`;
      const policy = pickOne(await c.api.all<Policy>(base), ref, 'policy');
      const result = await c.api.delete<{ id: string }>(`${base}/${policy.id}`);
      c.out(c.json ? json(result) : `Deleted policy "${policy.name}" (${policy.id}) from "${app.name}".`);
    });

  return policies;
}
