// A burst of N connections' requests in one poll phase: when each client gets its first byte.
import http from 'node:http';
import net from 'node:net';
import { fork } from 'node:child_process';
const tree = process.argv[2];
const N = Number(process.argv[3] ?? 2000);
if (process.argv[4] === 'client') {
  const port = Number(process.argv[5]);
  const socks = [];
  let connected = 0;
  for (let i = 0; i < N; i++) {
    const s = net.connect(port, '127.0.0.1', () => { if (++connected === N) process.send('ready'); });
    s.on('error', () => {});
    socks.push(s);
  }
  process.on('message', () => {
    const t0 = performance.now();
    const firsts = [];
    for (const s of socks) {
      s.once('data', () => { firsts.push(performance.now() - t0); if (firsts.length === N) {
        firsts.sort((a, b) => a - b);
        const q = (p) => firsts[Math.floor(p * (N - 1))].toFixed(1);
        process.send(`first byte after the burst: min ${q(0)} p10 ${q(0.1)} p50 ${q(0.5)} p90 ${q(0.9)} max ${q(1)} ms`);
        setTimeout(() => process.exit(0), 50);
      } });
      s.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    }
  });
} else {
  const { FastFront } = await import(`${tree}/apps/auth-service/dist/gateway/fast-front.js`);
  const fallback = http.createServer((_q, r) => r.end());
  const body = Buffer.alloc(200, 'a');
  const front = new FastFront({
    fallback,
    // ~20 µs of work per request (the gateway's cost per proxied request is of that order).
    serve: (_req, res) => { const t = performance.now(); while (performance.now() - t < 0.02); res.writeHead(200, ['Content-Length', '200']); res.end(body); },
    malformed: (s) => s.destroy(),
    keepAliveTimeoutMs: 5000,
  });
  await new Promise((r) => front.server.listen(0, '127.0.0.1', r));
  fallback.emit('listening');
  const child = fork(new URL(import.meta.url).pathname, [tree, String(N), 'client', String(front.server.address().port)]);
  await new Promise((r) => child.once('message', r));
  await new Promise((r) => setTimeout(r, 300));
  child.send('go');
  child.once('message', (m) => console.log(`${tree.split('/').pop()} N=${N}: ${m}`));
  await new Promise((r) => child.once('exit', r));
  front.closeAll(); front.server.close();
}
