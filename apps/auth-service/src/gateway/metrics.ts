import { Counter, Gauge, type Registry } from '@gatehouse/observability';

type Child = { inc(): void };

/** One series of the decisions counter, counted here; prom-client is told at scrape time. */
interface DecisionCount {
  labels: { app: string; result: 'allow' | 'deny'; reason: string };
  n: number;
}

/** What the gateway's state gauges read at each scrape (nothing is computed per request); read unbound. */
export interface GatewayState {
  replicaRevision: () => number;
  /** Changes seen beyond the applied watermark (a gap waiting for a resync). */
  replicaRevisionLag: () => number;
  lastSyncAt: () => number | null;
  natsConnected: () => boolean;
  accessLogPending: () => number;
  accessLogDropped: () => number;
  openConnections: () => Promise<number>;
  openTunnels: () => number;
}

const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * A label-free Prometheus histogram whose observations are counted in a typed array: prom-client's
 * Histogram.observe (label validation and hashing, then each bucket found and counted through a
 * property named by the bound's number as text) cost ~0.4 µs, twice per request. Registered with
 * the registry as any metric; it exposes the same series, in the same text, as prom-client's
 * (metrics.spec.ts compares them).
 */
export class RequestHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly bounds: readonly number[];
  /** Observations per bucket (not cumulative); the last counts those above every bound. */
  private counts: Float64Array;
  private sum = 0;
  private count = 0;

  constructor(config: { name: string; help: string; buckets: readonly number[]; registers: Registry[] }) {
    this.name = config.name;
    this.help = config.help;
    this.bounds = [...config.buckets].sort((a, b) => a - b);
    this.counts = new Float64Array(this.bounds.length + 1);
    // The registry takes any object with prom-client's metric shape (name, help, type, get, reset).
    for (const registry of config.registers) registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  readonly name: string;
  readonly help: string;

  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }

  get(): Promise<{
    name: string;
    help: string;
    type: 'histogram';
    values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }>;
    aggregator: string;
  }> {
    const values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> = [];
    let cumulative = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      cumulative += this.counts[i]!;
      values.push({ labels: { le: this.bounds[i]! }, value: cumulative, metricName: `${this.name}_bucket` });
    }
    values.push(
      { labels: { le: '+Inf' }, value: this.count, metricName: `${this.name}_bucket` },
      { labels: {}, value: this.sum, metricName: `${this.name}_sum` },
      { labels: {}, value: this.count, metricName: `${this.name}_count` },
    );
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator });
  }

  reset(): void {
    this.counts = new Float64Array(this.bounds.length + 1);
    this.sum = 0;
    this.count = 0;
  }
}

/**
 * The gateway's series. The request path only calls `decision`, `requestDone`, `forwarded` and
 * `upstreamError`: cached counter children and label-free histograms, no label strings built.
 */
export class GatewayMetrics {
  private readonly decisions: Counter<'app' | 'result' | 'reason'>;
  private readonly upstreamErrors: Counter<'kind'>;
  private readonly duration: RequestHistogram;
  private readonly added: RequestHistogram;
  /** app name → reason → count; `allow` is one reason ("admitted") so the result follows from it. */
  private readonly decisionCounts = new Map<string, Map<string, DecisionCount>>();
  private readonly upstreamChildren = new Map<string, Child>();

  constructor(registry: Registry) {
    this.decisions = new Counter({
      name: 'gatehouse_gateway_decisions_total',
      help: 'Authentication decisions by application, result (allow, deny) and reason',
      labelNames: ['app', 'result', 'reason'],
      registers: [registry],
      // Counted per request in plain numbers (a child's inc() hashes and validates its labels,
      // ~0.3 µs, once per request): the series are set from them at each scrape.
      collect: () => {
        this.decisions.reset();
        for (const byReason of this.decisionCounts.values()) for (const c of byReason.values()) this.decisions.inc(c.labels, c.n);
      },
    });
    this.upstreamErrors = new Counter({
      name: 'gatehouse_gateway_upstream_errors_total',
      help: 'Requests the upstream failed (answered 502/504 by the gateway), by kind',
      labelNames: ['kind'],
      registers: [registry],
    });
    this.duration = new RequestHistogram({
      name: 'gatehouse_gateway_request_duration_seconds',
      help: 'Whole requests through the gateway, upstream included (arrival to the end of the response)',
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
    this.added = new RequestHistogram({
      name: 'gatehouse_gateway_added_seconds',
      help: 'Time the gateway adds before the upstream sees a request (routing and authentication)',
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
  }

  /** Registers the gauges that read `state` at scrape time. */
  observe(registry: Registry, state: GatewayState): void {
    const gauge = (name: string, help: string, read: () => number | Promise<number>) =>
      new Gauge({
        name,
        help,
        registers: [registry],
        async collect() {
          this.set(await read());
        },
      });
    gauge('gatehouse_gateway_replica_revision', 'Revision of the in-memory replica (-1 until the first snapshot)', state.replicaRevision);
    gauge('gatehouse_gateway_replica_revision_lag', 'Revisions seen but not yet applied (a gap waiting for a resync)', state.replicaRevisionLag);
    gauge(
      'gatehouse_gateway_replica_last_sync_timestamp_seconds',
      'When the replica last synced with the token service (Unix time; 0 never)',
      () => (state.lastSyncAt() ?? 0) / 1000,
    );
    gauge('gatehouse_gateway_replica_sync_age_seconds', 'Seconds since the replica last synced (-1 never)', () => {
      const at = state.lastSyncAt();
      return at === null ? -1 : (Date.now() - at) / 1000;
    });
    gauge('gatehouse_gateway_nats_connected', '1 while the gateway is connected to NATS', () => (state.natsConnected() ? 1 : 0));
    gauge('gatehouse_gateway_access_log_pending', 'Access-log entries held until the stream stores them', state.accessLogPending);
    gauge('gatehouse_gateway_access_log_dropped', 'Access-log entries dropped since start (the hold was full)', state.accessLogDropped);
    gauge('gatehouse_gateway_open_connections', 'Open client connections', state.openConnections);
    gauge('gatehouse_gateway_open_tunnels', 'Open upgrade (WebSocket) tunnels', state.openTunnels);
  }

  decision(app: string, allowed: boolean, reason: string): void {
    let byReason = this.decisionCounts.get(app);
    if (!byReason) this.decisionCounts.set(app, (byReason = new Map<string, DecisionCount>()));
    const key = allowed ? 'admitted' : reason;
    const count = byReason.get(key);
    if (count) count.n++;
    else byReason.set(key, { labels: { app, result: allowed ? 'allow' : 'deny', reason: key }, n: 1 });
  }

  upstreamError(kind: string): void {
    let child = this.upstreamChildren.get(kind);
    if (!child) this.upstreamChildren.set(kind, (child = this.upstreamErrors.labels({ kind })));
    child.inc();
  }

  /** A request that arrived at `start` (performance.now()) was handed to its upstream now. */
  forwarded(start: number): void {
    this.added.observe((performance.now() - start) / 1000);
  }

  requestDone(start: number): void {
    this.duration.observe((performance.now() - start) / 1000);
  }
}
