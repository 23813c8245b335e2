import { Histogram, Registry } from '@gatehouse/observability';
import { GatewayMetrics, RequestHistogram } from './metrics.js';

describe('RequestHistogram', () => {
  const buckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

  /** The same observations into prom-client's Histogram and a RequestHistogram: their exposition text. */
  async function both(values: number[]): Promise<[string, string]> {
    const theirs = new Registry();
    const ours = new Registry();
    const reference = new Histogram({ name: 'h_seconds', help: 'A histogram', buckets, registers: [theirs] });
    const fast = new RequestHistogram({ name: 'h_seconds', help: 'A histogram', buckets, registers: [ours] });
    for (const v of values) {
      reference.observe(v);
      fast.observe(v);
    }
    return [await theirs.metrics(), await ours.metrics()];
  }

  it("exposes exactly prom-client's series and text, bounds and values on the edges included", async () => {
    const values = [0, 0.0001, 0.00010001, 0.0002, 0.00025, 0.3, 1, 1.5, 10, 10.5, 1e6, -1, ...buckets, ...buckets.map((b) => b * 1.01)];
    for (let i = 0; i < 200; i++) values.push(Math.random() ** 4 * 12);
    const [theirs, ours] = await both(values);
    expect(ours).toBe(theirs);
    expect(ours).toContain('h_seconds_bucket{le="+Inf"} ');
    const [emptyTheirs, emptyOurs] = await both([]);
    expect(emptyOurs).toBe(emptyTheirs);
  });

  it('refuses a value that is not a finite number, counts nothing for it, and resets with the registry', async () => {
    const registry = new Registry();
    const h = new RequestHistogram({ name: 'r_seconds', help: 'r', buckets: [1, 2], registers: [registry] });
    h.observe(1.5);
    expect(() => h.observe(Number.NaN)).toThrow(TypeError);
    expect(() => h.observe(Infinity)).toThrow(TypeError);
    expect(await registry.metrics()).toContain('r_seconds_count 1\n');
    expect(await registry.getMetricsAsJSON()).toEqual([
      expect.objectContaining({
        name: 'r_seconds',
        type: 'histogram',
        values: expect.arrayContaining([{ labels: { le: 2 }, value: 1, metricName: 'r_seconds_bucket' }]),
      }),
    ]);
    registry.resetMetrics();
    expect(await registry.metrics()).toContain('r_seconds_count 0\n');
    expect(await registry.metrics()).toContain('r_seconds_sum 0\n');
  });
});

describe('GatewayMetrics decisions', () => {
  it('counts each app and reason, and every scrape shows the totals so far', async () => {
    const registry = new Registry();
    const m = new GatewayMetrics(registry);
    const series = async () => (await registry.metrics()).split('\n').filter((l) => l.startsWith('gatehouse_gateway_decisions_total{'));
    m.decision('a', true, '');
    m.decision('a', true, '');
    m.decision('a', false, 'wrong_secret');
    m.decision('b', true, '');
    expect(await series()).toEqual([
      'gatehouse_gateway_decisions_total{app="a",result="allow",reason="admitted"} 2',
      'gatehouse_gateway_decisions_total{app="a",result="deny",reason="wrong_secret"} 1',
      'gatehouse_gateway_decisions_total{app="b",result="allow",reason="admitted"} 1',
    ]);
    m.decision('a', true, '');
    expect(await series()).toContain('gatehouse_gateway_decisions_total{app="a",result="allow",reason="admitted"} 3');
    expect(await series()).toHaveLength(3);
  });
});
