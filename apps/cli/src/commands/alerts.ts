import { Command } from 'commander';
import { type Context, pickOne } from '../context.js';
import { usageError } from '../errors.js';
import { parseCliDuration } from '../durations.js';
import { json, table, when } from '../output.js';
import { findToken } from './tokens.js';

const EXPIRING_TOKEN = 'expiring_service_token_alert';

interface AlertPolicy {
  id: string;
  name: string;
  enabled: boolean;
  alert_type: string;
  mechanisms: { email?: Array<{ id: string }>; webhooks?: Array<{ id: string }> };
}
interface Delivery {
  id: string;
  name: string;
  mechanism: string;
  mechanism_type: string;
  status: string;
  attempts: number;
  last_error: string | null;
  sent: string | null;
  due_at: string;
  token: { id: string; name: string; expires_at: string };
}

type Ctx = () => Context;
const collect = (v: string, prev: string[] = []) => [...prev, v];
const recipients = (p: AlertPolicy) =>
  [...(p.mechanisms.email ?? []).map((e) => e.id), ...(p.mechanisms.webhooks ?? []).map((w) => `webhook ${w.id}`)].join(', ');

export function alertsCommand(ctx: Ctx): Command {
  const alerts = new Command('alerts').description('alert policies ("Expiring Access Service Token") and their delivery history');

  alerts
    .command('list')
    .description('list alert policies')
    .action(async () => {
      const c = ctx();
      const items = await c.api.get<AlertPolicy[]>(await c.path('/alerting/v3/policies'));
      if (c.json) return c.out(json(items));
      if (items.length === 0) return c.out('No alert policies yet.');
      c.out(
        table(
          ['ID', 'NAME', 'ENABLED', 'RECIPIENTS'],
          items.map((p) => [p.id, p.name, p.enabled ? 'yes' : 'no', recipients(p)]),
        ),
      );
    });

  alerts
    .command('create')
    .description('create an "Expiring Access Service Token" alert: mail (or a webhook call) a week before a token expires')
    .requiredOption('--name <name>', 'the policy name')
    .option('--email <address>', 'an email recipient; repeat for several', collect)
    .option('--webhook <id>', 'a webhook destination id; repeat for several', collect)
    .option('--description <text>', 'a description')
    .option('--disabled', 'create it disabled')
    .action(async (opts: { name: string; email?: string[]; webhook?: string[]; description?: string; disabled?: boolean }) => {
      if (!opts.email?.length && !opts.webhook?.length) throw usageError('Name at least one --email recipient or --webhook.');
      const c = ctx();
      const policy = await c.api.post<AlertPolicy>(await c.path('/alerting/v3/policies'), {
        name: opts.name,
        alert_type: EXPIRING_TOKEN,
        enabled: !opts.disabled,
        ...(opts.description !== undefined ? { description: opts.description } : {}),
        mechanisms: {
          ...(opts.email?.length ? { email: opts.email.map((id) => ({ id })) } : {}),
          ...(opts.webhook?.length ? { webhooks: opts.webhook.map((id) => ({ id })) } : {}),
        },
      });
      c.out(c.json ? json(policy) : `Created alert policy "${policy.name}" (${policy.id}) for ${recipients(policy)}.`);
    });

  alerts
    .command('delete')
    .description('delete an alert policy (its pending deliveries are cancelled)')
    .argument('<policy>', 'alert policy id or name')
    .action(async (ref: string) => {
      const c = ctx();
      const base = await c.path('/alerting/v3/policies');
      const policy = pickOne(await c.api.get<AlertPolicy[]>(base), ref, 'alert policy');
      const result = await c.api.delete<{ id: string }>(`${base}/${policy.id}`);
      c.out(c.json ? json(result) : `Deleted alert policy "${policy.name}" (${policy.id}).`);
    });

  alerts
    .command('history')
    .description('every alert delivery: recipient, token, time and outcome (newest first)')
    .option('--token <token>', 'only alerts about this token (id or name)')
    .option('--since <duration>', 'only deliveries created within this time, e.g. 7d')
    .action(async (opts: { token?: string; since?: string }) => {
      const c = ctx();
      const since = opts.since === undefined ? undefined : new Date(Date.now() - parseCliDuration(opts.since, '--since')).toISOString();
      const tokenId = opts.token === undefined ? undefined : (await findToken(c, opts.token)).id;
      const items = await c.api.all<Delivery>(await c.path('/alerting/v3/history'), { token_id: tokenId, since });
      if (c.json) return c.out(json(items));
      if (items.length === 0) return c.out('No alerts sent or pending.');
      c.out(
        table(
          ['DUE', 'STATUS', 'TO', 'TOKEN', 'TOKEN EXPIRES', 'SENT', 'ATTEMPTS', 'LAST ERROR'],
          items.map((d) => [when(d.due_at), d.status, d.mechanism, d.token.name, when(d.token.expires_at), when(d.sent, '-'), d.attempts, d.last_error]),
        ),
      );
    });

  return alerts;
}
