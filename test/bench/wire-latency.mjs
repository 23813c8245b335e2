// The latency a reverse proxy adds, measured on the wire: loopback packets captured by tcpdump with
// kernel timestamps, so the load generator's own scheduling noise is not in the number.
//
//   const r = await wireLatency({ frontPort, upstreamPort, url, headers, rate, seconds });
//   // r = { n, unmatched, proxyMs: {p50,p90,p99,p999,max}, legsMs: {request, response}, endToEnd, ... }
//
// For every request (numbered ?n=<seq> by fixed-rate.mjs) the time inside the proxy is
//   (upstream request sent - client request arrived) + (client response sent - upstream response arrived)
// Loopback packets are stamped when they are handed to lo, so each leg also holds the kernel's
// delivery to the proxy and the proxy's wake-up: the same for every proxy measured this way.
// Needs root (or CAP_NET_RAW) and tcpdump; throws an Error saying so when tcpdump is missing.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TCPDUMP = process.env.TCPDUMP_BIN ?? 'tcpdump';
// tcpdump reads the kernel ring (TPACKET_V3) a block at a time and a block is handed over at the
// latest after its timeout (tcpdump's default 1 s); stopping earlier can lose the last packets.
const DRAIN_MS = 1500;

/**
 * @param {{ frontPort: number, upstreamPort: number, url: string, headers?: Record<string,string>,
 *   rate: number, seconds: number, iface?: string, snaplen?: number }} opts
 */
export async function wireLatency({ frontPort, upstreamPort, url, headers = {}, rate, seconds, iface = 'lo', snaplen, series = false }) {
  const expected = rate * seconds;
  if (!Number.isInteger(expected) || expected <= 0) throw new Error(`rate * seconds must be a positive integer (got ${expected})`);
  const u = new URL(url);
  // 128 bytes leave ~60 bytes of payload after Ethernet + IPv4 + TCP (with timestamps): enough for
  // "GET /short/path?n=123456 ", not for a long path. Widen the snapshot when the path needs it
  // (room for IPv6 and a 10-character method; a cut-off number is never misread, see SEQ_PARAM).
  snaplen ??= Math.max(128, 14 + 40 + 32 + 11 + u.pathname.length + u.search.length + 14);
  const dir = mkdtempSync(join(tmpdir(), 'gh-wire-'));
  const file = join(dir, 'capture.pcap');
  try {
    const capture = await startCapture(iface, snaplen, file, `tcp and (port ${frontPort} or port ${upstreamPort})`);
    let endToEnd;
    try {
      endToEnd = await fixedRate(url, headers, rate, seconds, { seq: true });
      await new Promise((r) => setTimeout(r, DRAIN_MS));
    } finally {
      await capture.stop();
    }
    const packets = parsePcap(readFileSync(file));
    const result = computeProxyLatency(packets, frontPort, upstreamPort, expected, { series: Boolean(series) });
    if (series) result.seriesEpochMs = (packets.epochSecond ?? 0) * 1000; // series times are ms after this
    return { ...result, dropped: capture.dropped(), snaplen, endToEnd };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function startCapture(iface, snaplen, file, filter) {
  const args = ['-i', iface, '-n', '-U', '-s', String(snaplen), '--time-stamp-precision=nano', '-w', file];
  // As root, tcpdump drops to the "tcpdump" user before opening the file; our temp dir is 0700 root.
  if (process.getuid?.() === 0) args.push('-Z', 'root');
  args.push(filter);
  const child = spawn(TCPDUMP, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const exited = new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tcpdump did not start capturing within 10 s: ${stderr.trim()}`));
    }, 10_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e.code === 'ENOENT' ? new Error(`tcpdump is not installed (apt-get install -y tcpdump); needed for the wire-level latency measurement`) : e);
    });
    child.stderr.on('data', (b) => {
      stderr += b;
      if (/listening on/.test(stderr)) {
        clearTimeout(timer);
        resolve();
      }
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`tcpdump exited (${code ?? signal}) before capturing: ${stderr.trim()}`));
    });
  });
  return {
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    },
    dropped() {
      const m = /(\d+) packets? dropped by kernel/.exec(stderr);
      return m ? Number(m[1]) : null;
    },
  };
}

/**
 * Runs ./fixed-rate.mjs (open-loop load at `rate` req/s) in its own process and returns its JSON
 * percentiles; `seq` numbers the requests (?n=<seq>) for the wire-level pairing.
 */
export async function fixedRate(url, headers, rate, seconds, { seq = false } = {}) {
  const script = fileURLToPath(new URL('./fixed-rate.mjs', import.meta.url));
  const child = spawn(process.execPath, [script, url, JSON.stringify(headers), String(rate), String(seconds), ...(seq ? ['seq'] : [])], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (b) => (out += b));
  const code = await new Promise((r) => child.once('close', r));
  if (code !== 0) throw new Error(`fixed-rate load failed (${code})`);
  return JSON.parse(out);
}

/**
 * Classic pcap (micro- or nanosecond, either byte order). Returns the TCP packets that carry
 * payload: { t (ns since the first packet), src, sport, dst, dport, payload (captured bytes) }.
 */
export function parsePcap(buf) {
  if (buf.length < 24) return [];
  const magicLE = buf.readUInt32LE(0);
  const magicBE = buf.readUInt32BE(0);
  let le;
  let nano;
  if (magicLE === 0xa1b2c3d4 || magicLE === 0xa1b23c4d) [le, nano] = [true, magicLE === 0xa1b23c4d];
  else if (magicBE === 0xa1b2c3d4 || magicBE === 0xa1b23c4d) [le, nano] = [false, magicBE === 0xa1b23c4d];
  else throw new Error(`not a classic pcap file (magic 0x${magicLE.toString(16)}); pcapng is not supported`);
  const u32 = (o) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const linkType = u32(20) & 0x0fffffff;
  const packets = [];
  let sec0 = null;
  for (let o = 24; o + 16 <= buf.length;) {
    const sec = u32(o);
    const frac = u32(o + 4);
    const incl = u32(o + 8);
    const start = o + 16;
    o = start + incl;
    if (o > buf.length) break; // truncated last record (capture stopped mid-write)
    if (sec0 === null) sec0 = sec;
    const t = (sec - sec0) * 1e9 + (nano ? frac : frac * 1000);
    const p = parseFrame(buf.subarray(start, start + incl), linkType);
    if (p) {
      p.t = t;
      packets.push(p);
    }
  }
  packets.epochSecond = sec0; // t = 0 is the start of this second (UTC)
  return packets;
}

function parseFrame(f, linkType) {
  let off;
  let proto;
  if (linkType === 1) {
    // Ethernet (what lo gives): ethertype at 12, skipping 802.1Q tags.
    off = 12;
    if (f.length < off + 2) return null;
    proto = f.readUInt16BE(off);
    while ((proto === 0x8100 || proto === 0x88a8) && f.length >= off + 6) {
      off += 4;
      proto = f.readUInt16BE(off);
    }
    off += 2;
  } else if (linkType === 113) {
    // Linux cooked v1 (-i any): protocol at 14, 16-byte header.
    if (f.length < 16) return null;
    proto = f.readUInt16BE(14);
    off = 16;
  } else if (linkType === 276) {
    // Linux cooked v2: protocol at 0, 20-byte header.
    if (f.length < 20) return null;
    proto = f.readUInt16BE(0);
    off = 20;
  } else if (linkType === 101 || linkType === 12) {
    // Raw IP.
    if (f.length < 1) return null;
    proto = f[0] >> 4 === 6 ? 0x86dd : 0x0800;
    off = 0;
  } else {
    throw new Error(`unsupported pcap link type ${linkType}`);
  }
  let src;
  let dst;
  let tcpOff;
  let tcpLen; // TCP header + payload length, from the IP header (not from the capture length)
  if (proto === 0x0800) {
    if (f.length < off + 20) return null;
    const ihl = (f[off] & 0x0f) * 4;
    if (f[off + 9] !== 6) return null;
    if ((f.readUInt16BE(off + 6) & 0x1fff) !== 0) return null; // not a first fragment
    tcpLen = f.readUInt16BE(off + 2) - ihl;
    src = `${f[off + 12]}.${f[off + 13]}.${f[off + 14]}.${f[off + 15]}`;
    dst = `${f[off + 16]}.${f[off + 17]}.${f[off + 18]}.${f[off + 19]}`;
    tcpOff = off + ihl;
  } else if (proto === 0x86dd) {
    if (f.length < off + 40) return null;
    if (f[off + 6] !== 6) return null; // extension headers: not expected on loopback
    tcpLen = f.readUInt16BE(off + 4);
    src = f.subarray(off + 8, off + 24).toString('hex');
    dst = f.subarray(off + 24, off + 40).toString('hex');
    tcpOff = off + 40;
  } else {
    return null;
  }
  if (f.length < tcpOff + 13) return null;
  const dataOffset = (f[tcpOff + 12] >> 4) * 4;
  if (tcpLen - dataOffset <= 0) return null; // no payload (ACK, SYN, FIN)
  return {
    src,
    sport: f.readUInt16BE(tcpOff),
    dst,
    dport: f.readUInt16BE(tcpOff + 2),
    payload: f.subarray(Math.min(f.length, tcpOff + dataOffset)),
  };
}

const REQUEST_LINE = /^[A-Z]{3,10} \S/;
// The digits must be followed by a delimiter in the captured bytes: a snapshot that cuts the
// number short must not produce a wrong sequence number.
const SEQ_PARAM = /[?&]n=(\d+)(?=[ &#])/;

/**
 * Pairs requests and responses per TCP connection in FIFO order and joins the client side and the
 * upstream side by the n=<seq> in the request line. Times in ms.
 */
export function computeProxyLatency(packets, frontPort, upstreamPort, expected, { series = false } = {}) {
  const sides = { front: new Map(), upstream: new Map() }; // seq -> { req, res }
  const queues = new Map(); // connection -> pending seqs (null: a request without a number)
  let truncated = 0;
  let orphanResponses = 0;
  for (const p of packets) {
    let side;
    let conn;
    let isRequest;
    if (p.dport === frontPort) [side, conn, isRequest] = ['front', `f ${p.src} ${p.sport}`, true];
    else if (p.sport === frontPort) [side, conn, isRequest] = ['front', `f ${p.dst} ${p.dport}`, false];
    else if (p.dport === upstreamPort) [side, conn, isRequest] = ['upstream', `u ${p.src} ${p.sport}`, true];
    else if (p.sport === upstreamPort) [side, conn, isRequest] = ['upstream', `u ${p.dst} ${p.dport}`, false];
    else continue;
    const head = p.payload.subarray(0, 2048).toString('latin1');
    let queue = queues.get(conn);
    if (!queue) queues.set(conn, (queue = []));
    if (isRequest) {
      if (!REQUEST_LINE.test(head)) continue; // continuation of a request (body, long headers)
      const m = SEQ_PARAM.exec(head.slice(0, head.search(/\r|\n|$/)));
      if (!m && /[?&]n=\d*$/.test(head)) truncated++;
      const seq = m ? Number(m[1]) : null;
      queue.push(seq);
      if (seq !== null && !sides[side].has(seq)) sides[side].set(seq, { req: p.t, res: undefined });
    } else {
      if (!head.startsWith('HTTP/1.')) continue; // continuation of a response
      if (queue.length === 0) {
        orphanResponses++;
        continue;
      }
      const seq = queue.shift();
      if (seq === null) continue;
      const rec = sides[side].get(seq);
      if (rec && rec.res === undefined) rec.res = p.t;
    }
  }
  const total = [];
  const reqLeg = [];
  const resLeg = [];
  const timeline = []; // with `series`: [arrival at the proxy (ms since the first packet), ms inside]
  let misordered = 0;
  for (const [seq, f] of sides.front) {
    const up = sides.upstream.get(seq);
    if (f.res === undefined || !up || up.res === undefined) continue;
    const a = up.req - f.req;
    const b = f.res - up.res;
    if (a < 0 || b < 0 || up.res < up.req) {
      misordered++; // a pairing error: never counted as a measurement
      continue;
    }
    reqLeg.push(a / 1e6);
    resLeg.push(b / 1e6);
    total.push((a + b) / 1e6);
    if (series) timeline.push([f.req / 1e6, (a + b) / 1e6]);
  }
  const n = total.length;
  return {
    n,
    unmatched: Math.max(0, (expected ?? Math.max(sides.front.size, sides.upstream.size)) - n),
    proxyMs: percentiles(total),
    legsMs: { request: percentiles(reqLeg), response: percentiles(resLeg) },
    detail: { packets: packets.length, frontSeen: sides.front.size, upstreamSeen: sides.upstream.size, misordered, truncated, orphanResponses },
    ...(series ? { series: timeline.sort((x, y) => x[0] - y[0]) } : {}),
  };
}

function percentiles(values) {
  const s = Float64Array.from(values).sort();
  const n = s.length;
  const pct = (p) => (n === 0 ? NaN : s[Math.min(n - 1, Math.ceil((p / 100) * n) - 1)]);
  return { p50: pct(50), p90: pct(90), p99: pct(99), p999: pct(99.9), max: n === 0 ? NaN : s[n - 1] };
}
