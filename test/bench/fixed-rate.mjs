// Open-loop load at a fixed rate, with microsecond timing, in its own process (a fresh heap: the
// parent's garbage does not pause it). Used by run.mjs for "added p99 at 1,000 req/s".
//   node fixed-rate.mjs <url> <headers as JSON> <rate per second> <seconds> [seq]
// prints {"p50":ms,"p99":ms,"n":count,"failed":count}
// A 5th argument `seq` numbers the measured requests: the i-th (from 0)
// goes to <url path + query>?n=i (or &n=i), so a packet capture can pair it up (wire-latency.mjs).
// The connection warm-up requests carry no number.
//
// Requests go out on schedule whether or not earlier ones have answered. The scheduler sleeps
// between sends (a timer, not a spin loop): on a 2-core machine a spinning load generator takes a
// whole core from the servers it measures and turns their p99 into scheduling noise.
import http from 'node:http';

const [url, headersJson, rateArg, secondsArg] = process.argv.slice(2);
const u = new URL(url);
const headers = JSON.parse(headersJson);
const rate = Number(rateArg);
const total = rate * Number(secondsArg);
const SEQ = process.argv[6] === 'seq';
const target = `${u.pathname}${u.search}`;
const seqPrefix = `${target}${u.search ? '&' : '?'}n=`;
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const latencies = new Float64Array(total);
let n = 0;
let failed = 0;
let sent = 0;
let inflight = 0;

// Open the connections first, so that the measured requests do not pay for the TCP handshakes.
await Promise.all(
  Array.from({ length: 4 }, () => new Promise((resolve) => http.get({ hostname: u.hostname, port: u.port, path: target, headers, agent }, (res) => res.resume().on('end', resolve)).on('error', resolve))),
);

await new Promise((resolve) => {
  const start = performance.now();
  const fire = () => {
    const path = SEQ ? seqPrefix + sent : target;
    sent++;
    inflight++;
    const t0 = performance.now();
    const req = http.request({ hostname: u.hostname, port: u.port, path, headers, agent }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode === 200) latencies[n++] = performance.now() - t0;
        else failed++;
        if (--inflight === 0 && sent >= total) resolve();
      });
    });
    req.on('error', () => {
      failed++;
      if (--inflight === 0 && sent >= total) resolve();
    });
    req.end();
  };
  const tick = () => {
    const elapsed = performance.now() - start;
    const due = Math.min(total, Math.floor((elapsed / 1000) * rate) + 1);
    while (sent < due) fire();
    if (sent < total) {
      const next = (sent / rate) * 1000 - (performance.now() - start);
      setTimeout(tick, Math.max(0, next));
    } else if (inflight === 0) resolve();
  };
  tick();
});
agent.destroy();
const sorted = latencies.subarray(0, n).sort();
const pct = (p) => sorted[Math.min(n - 1, Math.ceil((p / 100) * n) - 1)];
process.stdout.write(JSON.stringify({ p50: pct(50), p90: pct(90), p95: pct(95), p99: pct(99), p999: pct(99.9), max: sorted[n - 1], n, failed }));
