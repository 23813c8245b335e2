// Many connections whose request + FIN arrive in one poll phase: each answer is held, then each
// connection's onEnd releases its socket, scanning the whole queue (the other connections' answers).
import http from 'node:http';
import net from 'node:net';
import { fork } from 'node:child_process';
const tree = process.argv[2];
const N = Number(process.argv[3] ?? 4000);
if (process.argv[4] === 'client') {
  const port = Number(process.argv[5]);
  const socks = [];
  let connected = 0;
  for (let i = 0; i < N; i++) {
    const s = net.connect(port, '127.0.0.1', () => { if (++connected === N) process.send('ready'); });
    s.on('error', () => {});
    s.on('data', () => {});
    socks.push(s);
  }
  process.on('message', () => {
    for (const s of socks) s.end('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    let closed = 0;
    for (const s of socks) s.on('close', () => { if (++closed === N) process.exit(0); });
  });
} else {
  const { FastFront } = await import(`${tree}/apps/auth-service/dist/gateway/fast-front.js`);
  let relMs = 0, rels = 0;
  try { const { writeBatch } = await import(`${tree}/apps/auth-service/dist/gateway/write-batch.js`); const orig = writeBatch.release.bind(writeBatch); writeBatch.release = (s) => { const a = performance.now(); orig(s); relMs += performance.now() - a; rels++; }; } catch {}
  const fallback = http.createServer((_q, r) => r.end());
  const body = Buffer.alloc(200, 'a');
  const front = new FastFront({
    fallback,
    serve: (_req, res) => { res.writeHead(200, ['Content-Length', '200']); res.end(body); },
    malformed: (s) => s.destroy(),
    keepAliveTimeoutMs: 5000,
  });
  await new Promise((r) => front.server.listen(0, '127.0.0.1', r));
  fallback.emit('listening');
  const port = front.server.address().port;
  const child = fork(new URL(import.meta.url).pathname, [tree, String(N), 'client', String(port)]);
  await new Promise((r) => child.once('message', r));
  await new Promise((r) => setTimeout(r, 300));
  // Longest event-loop block while the storm is served.
  let last = performance.now(), worst = 0;
  const tick = setInterval(() => { const now = performance.now(); worst = Math.max(worst, now - last); last = now; }, 1);
  const t0 = performance.now();
  child.send('go');
  await new Promise((r) => child.once('exit', r));
  clearInterval(tick);
  console.log(`${tree.split('/').pop()} N=${N}: all answered in ${(performance.now() - t0).toFixed(0)} ms; longest loop block ${worst.toFixed(1)} ms; release() ${rels} calls ${relMs.toFixed(0)} ms`);
  front.closeAll(); front.server.close();
}
