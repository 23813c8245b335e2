// Open-loop load at a fixed rate, with microsecond timing, in its own process (a fresh heap: the
// parent's garbage does not pause it). Used by run.mjs for "added p99 at 1,000 req/s".
//   node fixed-rate.mjs <url> <headers as JSON> <rate per second> <seconds> [seq]
// prints {"p50":ms,"p99":ms,"n":count,"failed":count,"cpuMs":this process's CPU time}
// A 5th argument `seq` numbers the measured requests: the i-th (from 0)
// goes to <url path + query>?n=i (or &n=i), so a packet capture can pair it up (wire-latency.mjs).
// The connection warm-up requests carry no number.
//
// Requests go out on schedule whether or not earlier ones have answered. The scheduler sleeps
// between sends (a timer, not a spin loop): on a 2-core machine a spinning load generator takes a
// whole core from the servers it measures and turns their p99 into scheduling noise.
//
// For the same reason the generator is cheap per request: GET requests written as prepared bytes
// on keep-alive sockets (one request in flight per socket, a new socket when all are busy), and
// responses framed by Content-Length or chunked encoding. Node's http client cost ~0.4 ms of CPU
// per request here: at 1,000 req/s that is 40 % of a core taken from the servers being measured.
import net from 'node:net';

const [url, headersJson, rateArg, secondsArg] = process.argv.slice(2);
const u = new URL(url);
const headers = JSON.parse(headersJson);
const rate = Number(rateArg);
const total = rate * Number(secondsArg);
const SEQ = process.argv[6] === 'seq';
const port = Number(u.port || 80);
const target = `${u.pathname}${u.search}`;
const seqPrefix = `${target}${u.search ? '&' : '?'}n=`;
const hasHost = Object.keys(headers).some((k) => k.toLowerCase() === 'host');
const headerLines = Object.entries(hasHost ? headers : { host: u.host, ...headers })
  .map(([k, v]) => `${k}: ${v}\r\n`)
  .join('');
const requestBytes = (path) => Buffer.from(`GET ${path} HTTP/1.1\r\n${headerLines}\r\n`, 'latin1');

const latencies = new Float64Array(total);
let n = 0;
let failed = 0;
let sent = 0;
let inflight = 0;
const idle = [];
let finish;
const finished = new Promise((resolve) => (finish = resolve));

/** A keep-alive connection with at most one request in flight; `done(ok)` when its response ends. */
function connection() {
  const socket = net.connect({ host: u.hostname, port, noDelay: true });
  const c = { socket, pending: null, buf: Buffer.alloc(0), open: true };
  socket.on('data', (chunk) => {
    c.buf = c.buf.length ? Buffer.concat([c.buf, chunk]) : chunk;
    const framed = responseEnd(c.buf);
    if (framed === null) return;
    const { end, head } = framed;
    const ok = end > 0 && c.buf.length === end && head.startsWith('200', 9);
    if (/\r\nconnection:[ \t]*close/i.test(head)) c.open = false;
    c.buf = Buffer.alloc(0);
    complete(c, ok);
  });
  const lost = () => {
    c.open = false;
    const i = idle.indexOf(c);
    if (i >= 0) idle.splice(i, 1);
    if (c.pending) complete(c, false);
  };
  socket.on('error', lost);
  socket.on('close', lost);
  return c;
}

function complete(c, ok) {
  const { t0, done } = c.pending;
  c.pending = null;
  if (ok) {
    if (t0 !== null) latencies[n++] = performance.now() - t0;
  } else failed++;
  if (c.open && ok) idle.push(c);
  else c.socket.destroy();
  done();
}

/**
 * Where the response in `buf` ends (`end`, its length; -1 when it cannot be framed: neither
 * Content-Length nor chunked) and its head; null while incomplete. Enough for the bench's own
 * small responses.
 */
function responseEnd(buf) {
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd < 0) return null;
  const head = buf.toString('latin1', 0, headEnd);
  const bodyStart = headEnd + 4;
  const cl = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head);
  if (cl) {
    const end = bodyStart + Number(cl[1]);
    return buf.length >= end ? { end, head } : null;
  }
  if (/\r\ntransfer-encoding:[^\r]*chunked/i.test(head)) {
    const last = buf.indexOf('\r\n0\r\n\r\n', bodyStart - 2);
    return last < 0 ? null : { end: last + 7, head };
  }
  return { end: -1, head };
}

function send(path, t0, done) {
  const c = idle.pop() ?? connection();
  c.pending = { t0, done };
  c.socket.write(requestBytes(path));
}

// Open the connections first, so that the measured requests do not pay for the TCP handshakes.
await Promise.all(Array.from({ length: 4 }, () => new Promise((resolve) => send(target, null, resolve))));
failed = 0;

const start = performance.now();
const onDone = () => {
  if (--inflight === 0 && sent >= total) finish();
};
const tick = () => {
  const elapsed = performance.now() - start;
  const due = Math.min(total, Math.floor((elapsed / 1000) * rate) + 1);
  while (sent < due) {
    const path = SEQ ? seqPrefix + sent : target;
    sent++;
    inflight++;
    send(path, performance.now(), onDone);
  }
  if (sent < total) {
    const next = (sent / rate) * 1000 - (performance.now() - start);
    setTimeout(tick, Math.max(0, next));
  } else if (inflight === 0) finish();
};
tick();
await finished;
for (const c of idle) c.socket.destroy();
const sorted = latencies.subarray(0, n).sort();
const pct = (p) => sorted[Math.min(n - 1, Math.ceil((p / 100) * n) - 1)];
process.stdout.write(
  JSON.stringify({
    p50: pct(50),
    p90: pct(90),
    p95: pct(95),
    p99: pct(99),
    p999: pct(99.9),
    max: sorted[n - 1],
    n,
    failed,
    cpuMs: (({ user, system }) => (user + system) / 1000)(process.cpuUsage()),
  }),
);
