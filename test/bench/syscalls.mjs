// BENCH_SYSCALLS=1 (issue 14): what a server asks of the kernel per request. During a measured
// load run, `perf stat` counts the system calls of the server's processes by kind (kernel
// tracepoints), its context switches and its page faults; the bench divides them by the run's
// requests. The tracepoints cost the traced process a little per call, so the req/s and CPU figures
// of such a run are not the untraced ones: use it to compare what the servers do, not how fast.
import { spawn, spawnSync } from 'node:child_process';

/** Counted events, and which column of the table each falls in. */
const EVENTS = {
  'raw_syscalls:sys_enter': 'all',
  'syscalls:sys_enter_read': 'reads',
  'syscalls:sys_enter_readv': 'reads',
  'syscalls:sys_enter_recvfrom': 'reads',
  'syscalls:sys_enter_recvmsg': 'reads',
  'syscalls:sys_enter_write': 'writes',
  'syscalls:sys_enter_writev': 'writes',
  'syscalls:sys_enter_sendto': 'writes',
  'syscalls:sys_enter_sendmsg': 'writes',
  'syscalls:sys_enter_epoll_wait': 'waits',
  'syscalls:sys_enter_epoll_pwait': 'waits',
  'syscalls:sys_enter_epoll_pwait2': 'waits',
  'syscalls:sys_enter_epoll_ctl': 'epollCtl',
  'context-switches': 'switches',
  'page-faults': 'faults',
};

/**
 * Why system calls cannot be counted here (no perf, or no access to its tracepoints: root or
 * kernel.perf_event_paranoid ≤ -1), or null when they can.
 */
export function syscallCountingUnavailable() {
  const probe = spawnSync('perf', ['stat', '-x,', '-e', 'raw_syscalls:sys_enter', '--', 'true'], { encoding: 'utf8' });
  if (probe.error) return `perf not found (apt-get install linux-perf): ${probe.error.message}`;
  if (probe.status !== 0 || /not supported|<not counted>|No permission|Permission denied/i.test(probe.stderr))
    return `perf cannot count system calls here: ${probe.stderr.trim().split('\n')[0]}`;
  return null;
}

/**
 * Counts the events of `pids` for `seconds` (started beside the load run it measures). Resolves
 * to { all, reads, writes, waits, epollCtl, switches, faults }; rejects when perf fails or an
 * event was not counted (a figure missing silently would read as zero).
 */
export function countSyscalls(pids, seconds) {
  return new Promise((resolve, reject) => {
    const args = ['stat', '-x,', '-e', Object.keys(EVENTS).join(','), '-p', [...pids].join(','), '--', 'sleep', String(seconds)];
    const child = spawn('perf', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('error', (e) => reject(new Error(`perf stat could not start: ${e.message}`)));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`perf stat failed (${code}): ${err.trim()}`));
      const totals = { all: 0, reads: 0, writes: 0, waits: 0, epollCtl: 0, switches: 0, faults: 0 };
      const seen = new Set();
      for (const line of err.split('\n')) {
        const [value, , event] = line.split(',');
        if (!(event in EVENTS)) continue;
        if (!/^\d+$/.test(value)) return reject(new Error(`perf stat did not count ${event}: ${line}`));
        totals[EVENTS[event]] += Number(value);
        seen.add(event);
      }
      const missing = Object.keys(EVENTS).filter((e) => !seen.has(e));
      if (missing.length) return reject(new Error(`perf stat gave no figure for ${missing.join(', ')}:\n${err.trim()}`));
      resolve(totals);
    });
  });
}
