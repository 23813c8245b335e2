import { useEffect, useRef, useState } from 'react';
import { DAY_MS, dailyCounts, formatCount, formatDay, startOfDay } from '../lib/format';

/** The rendered width of an element, so SVG text is drawn at its real size (no stretching). */
function useWidth(fallback: number) {
  const ref = useRef<SVGSVGElement>(null);
  const [width, setWidth] = useState(fallback);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const update = () => setWidth(Math.max(200, Math.round(el.getBoundingClientRect().width)));
    update();
    const ro = new ResizeObserver(update);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  return [ref, width] as const;
}

/**
 * Upcoming expiries as a daily histogram over the next `days` days (inline SVG). The text
 * summary beside it carries the same facts for screen readers.
 */
export function ExpiryTimeline({ expiries, days = 90, now = Date.now() }: { expiries: Array<{ name: string; at: number }>; days?: number; now?: number }) {
  const start = startOfDay(now);
  const buckets: Array<string[]> = Array.from({ length: days }, () => []);
  for (const e of expiries) {
    const i = Math.floor((e.at - start) / DAY_MS);
    if (e.at >= now && i >= 0 && i < days) buckets[i]!.push(e.name);
  }
  const max = Math.max(1, ...buckets.map((b) => b.length));
  const [ref, W] = useWidth(900);
  const H = 120;
  const pad = { l: 28, r: 8, t: 8, b: 22 };
  const bw = (W - pad.l - pad.r) / days;
  const y = (n: number) => pad.t + (H - pad.t - pad.b) * (1 - n / max);
  const ticks = [0, 30, 60, days - 1];
  return (
    <svg ref={ref} className="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`Expiries per day over the next ${days} days; busiest day has ${max}.`}>
      <line x1={pad.l} x2={W - pad.r} y1={H - pad.b} y2={H - pad.b} className="axis" />
      <text x={pad.l - 4} y={y(max) + 4} className="tick" textAnchor="end">
        {max}
      </text>
      <text x={pad.l - 4} y={H - pad.b} className="tick" textAnchor="end">
        0
      </text>
      {buckets.map((names, i) =>
        names.length ? (
          <rect
            key={i}
            x={pad.l + i * bw + 1}
            width={Math.max(1, bw - 2)}
            y={y(names.length)}
            height={H - pad.b - y(names.length)}
            className={i < 7 ? 'bar bar-urgent' : i < 30 ? 'bar bar-soon' : 'bar'}
          >
            <title>{`${formatDay(start + i * DAY_MS)}: ${names.length} expiring (${names.slice(0, 5).join(', ')}${names.length > 5 ? ', …' : ''})`}</title>
          </rect>
        ) : null,
      )}
      {ticks.map((t) => (
        <text key={t} x={pad.l + t * bw + bw / 2} y={H - 6} className="tick" textAnchor={t === 0 ? 'start' : t === days - 1 ? 'end' : 'middle'}>
          {t === 0 ? 'Today' : formatDay(start + t * DAY_MS)}
        </text>
      ))}
    </svg>
  );
}

/** Recent usage of one token: allowed / denied / other events per day (stacked bars). */
export function UsageChart({
  events,
  days = 14,
  now = Date.now(),
}: {
  events: Array<{ at: number; kind: 'allow' | 'deny' | 'change' }>;
  days?: number;
  now?: number;
}) {
  const series = (['allow', 'deny', 'change'] as const).map((k) =>
    dailyCounts(
      events.filter((e) => e.kind === k).map((e) => e.at),
      days,
      now,
    ),
  );
  const totals = series[0]!.map((_, i) => series[0]![i]! + series[1]![i]! + series[2]![i]!);
  const max = Math.max(1, ...totals);
  const [ref, W] = useWidth(560);
  const H = 110;
  const pad = { l: 28, r: 4, t: 6, b: 20 };
  const bw = (W - pad.l - pad.r) / days;
  const h = (n: number) => ((H - pad.t - pad.b) * n) / max;
  const first = startOfDay(now) - (days - 1) * DAY_MS;
  const total = totals.reduce((a, b) => a + b, 0);
  return (
    <svg ref={ref} className="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${formatCount(total)} events in the last ${days} days`}>
      <line x1={pad.l} x2={W - pad.r} y1={H - pad.b} y2={H - pad.b} className="axis" />
      <text x={pad.l - 4} y={pad.t + 8} className="tick" textAnchor="end">
        {max}
      </text>
      {totals.map((_, i) => {
        let base = H - pad.b;
        return (
          <g key={i}>
            <title>{`${formatDay(first + i * DAY_MS)}: ${series[0]![i]} allowed, ${series[1]![i]} denied, ${series[2]![i]} changes`}</title>
            {(['allow', 'deny', 'change'] as const).map((k, s) => {
              const n = series[s]![i]!;
              if (!n) return null;
              base -= h(n);
              return <rect key={k} x={pad.l + i * bw + 1} width={Math.max(1, bw - 2)} y={base} height={h(n)} className={`bar bar-${k}`} />;
            })}
          </g>
        );
      })}
      <text x={pad.l} y={H - 5} className="tick">
        {formatDay(first)}
      </text>
      <text x={W - pad.r} y={H - 5} className="tick" textAnchor="end">
        Today
      </text>
    </svg>
  );
}
