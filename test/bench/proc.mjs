// What the benches read of processes in /proc (Linux): CPU time, command names, process trees.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

export const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** The fields of /proc/<pid>/stat after the command name (index 0 is the state), or null if gone. */
export function statOf(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** CPU seconds (user + system) of one process alone (not its children); 0 if gone. */
export function ownCpuSeconds(pid) {
  const f = statOf(pid);
  return f ? (Number(f[11]) + Number(f[12])) / CLK_TCK : 0;
}

/** Every process on the machine now: pid → its command name and its own CPU ticks so far. */
export function processCpu() {
  const out = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let s;
    try {
      s = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    out.set(Number(entry), { name: s.slice(s.indexOf('(') + 1, s.lastIndexOf(')')), ticks: Number(f[11]) + Number(f[12]) });
  }
  return out;
}

/**
 * CPU seconds each process used between two processCpu() snapshots, busiest first; a process
 * started meanwhile counts whole, one that ended meanwhile is missing.
 */
export function cpuBetween(before, after) {
  return [...after]
    .map(([pid, p]) => ({ pid, name: p.name, seconds: (p.ticks - (before.get(pid)?.ticks ?? 0)) / CLK_TCK }))
    .filter((p) => p.seconds > 0)
    .sort((a, b) => b.seconds - a.seconds);
}

/** These processes and every process they started, transitively. */
export function processTree(roots) {
  const parentOf = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const f = statOf(entry);
    if (f) parentOf.set(Number(entry), Number(f[1]));
  }
  const tree = new Set(roots);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, ppid] of parentOf) {
      if (tree.has(ppid) && !tree.has(pid)) {
        tree.add(pid);
        grew = true;
      }
    }
  }
  return tree;
}
