import { Command } from 'commander';
import type { Context } from '../context.js';
import { parseCliDuration } from '../durations.js';
import { usageError } from '../errors.js';
import { when } from '../output.js';

interface AuditEvent {
  id: string;
  action: { type: string };
  actor: { type: string; id: string; ip: string | null };
  when: string;
  resource: { type: string; id: string; name: string | null };
  metadata: Record<string, unknown> | null;
}

type Ctx = () => Context;

const line = (e: AuditEvent) =>
  [
    when(e.when),
    e.action.type.padEnd(22),
    `${e.resource.type} ${e.resource.name ? `"${e.resource.name}" ` : ''}${e.resource.id}`,
    `by ${e.actor.type}${e.actor.id ? ` ${e.actor.id}` : ''}${e.actor.ip ? ` from ${e.actor.ip}` : ''}`,
  ].join('  ');

/** Resolves after `ms`, or at once when the signal aborts. */
const pause = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

export function auditCommand(ctx: Ctx, stop: AbortSignal): Command {
  const audit = new Command('audit').description('the audit log: every change and every access decision');

  audit
    .command('tail')
    .description('print the latest audit events, oldest first; --follow keeps polling for new ones until Ctrl-C')
    .option('-n, --lines <n>', 'how many of the latest events to print first', '20')
    .option('-f, --follow', 'keep printing new events as they happen')
    .option('--interval <duration>', 'how often --follow asks for new events', '2s')
    .option('--action <type>', 'only events of this action type, e.g. token.created')
    .action(async (opts: { lines: string; follow?: boolean; interval: string; action?: string }) => {
      const lines = Number(opts.lines);
      if (!Number.isInteger(lines) || lines < 0 || lines > 1000) throw usageError('--lines must be a whole number from 0 to 1000');
      const interval = parseCliDuration(opts.interval, '--interval');
      const c = ctx();
      const path = await c.path('/audit_logs');
      const print = (e: AuditEvent) => c.out(c.json ? JSON.stringify(e) : line(e));
      const seen = new Set<string>();
      let since: string | undefined;
      const take = (events: AuditEvent[]) => {
        for (const e of events.reverse()) {
          if (seen.has(e.id)) continue;
          seen.add(e.id);
          print(e);
          if (!since || e.when > since) since = e.when;
        }
      };
      const latest = await c.api.get<AuditEvent[]>(path, { per_page: Math.max(lines, 1), 'action.type': opts.action });
      if (lines > 0) take(latest);
      else if (latest[0]) {
        seen.add(latest[0].id);
        since = latest[0].when;
      }
      if (!opts.follow) return;
      while (!stop.aborted) {
        await pause(interval, stop);
        if (stop.aborted) break;
        // `since` is inclusive: events at the boundary come again and are skipped by id.
        const fresh = await c.api.all<AuditEvent>(path, { since, 'action.type': opts.action });
        take(fresh);
        if (seen.size > 10_000) for (const id of [...seen].slice(0, 5_000)) seen.delete(id);
      }
    });

  return audit;
}
