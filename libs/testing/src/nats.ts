import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from './ports.js';

export interface TestNats {
  url: string;
  port: number;
  /** HTTP monitoring endpoint (`/subsz?subs=1` lists subscriptions). */
  monitorUrl: string;
  stop(): Promise<void>;
  /** Stops the server, keeping its port, so a test can see how clients behave without NATS. */
  pause(): Promise<void>;
  resume(): Promise<void>;
}

const NATS_BIN = process.env.NATS_SERVER_BIN ?? 'nats-server';

/**
 * A real nats-server (with JetStream) of this test file's own, on a free loopback port. Each test
 * file gets its own server, so parallel files and CI runs never steal each other's messages.
 * `maxPayload` starts it with a smaller message limit than NATS's 1 MB default.
 */
export async function startNats(
  options: {
    maxPayload?: number;
    /** nats-server configuration text (e.g. an `authorization` block); flags above still apply. */
    config?: string;
  } = {},
): Promise<TestNats> {
  let port = await freePort();
  let monitorPort = await freePort();
  const storeDir = mkdtempSync(join(tmpdir(), 'gh-nats-'));
  const configArgs: string[] = [];
  const configText = [options.config, options.maxPayload ? `max_payload: ${options.maxPayload}` : undefined].filter((line) => line !== undefined).join('\n');
  if (configText) {
    // No command-line flag for max_payload: both go in a config file.
    const file = join(storeDir, 'nats.conf');
    writeFileSync(file, `${configText}\n`, { mode: 0o600 });
    configArgs.push('-c', file);
  }
  let child: ChildProcess | undefined;
  /** Starts the server; rejects, with what it printed, if it exits before it listens. */
  const launchOnce = async () => {
    const c = spawn(NATS_BIN, [...configArgs, '-a', '127.0.0.1', '-p', String(port), '-m', String(monitorPort), '-js', '-sd', storeDir], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child = c;
    let said = '';
    c.stderr.on('data', (d: Buffer) => (said = (said + d.toString()).slice(-2000)));
    const exited = new Promise<never>((_, reject) => {
      c.once('error', (e) => reject(new Error(`Cannot start ${NATS_BIN} (install Debian's nats-server): ${e.message}`)));
      c.once('exit', (code, signal) => reject(new Error(`${NATS_BIN} on port ${port} exited (${signal ?? code}) before it listened: ${said.trim()}`)));
    });
    exited.catch(() => undefined);
    await Promise.race([waitForPort(port), exited]);
  };
  /**
   * A port free a moment ago can be taken before nats-server binds it (by another listener, or
   * as the local port of an outgoing connection): a first start then tries fresh ports, up to
   * three times. A resume keeps its port (the clients reconnect to it), so it retries that one.
   */
  const launch = async (fresh: boolean) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await launchOnce();
      } catch (error) {
        if (attempt >= 3 || (error as Error).message.startsWith('Cannot start')) throw error;
        await kill();
        if (fresh) [port, monitorPort] = [await freePort(), await freePort()];
        else await new Promise((r) => setTimeout(r, 200));
      }
    }
  };
  const kill = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    });
  };
  await launch(true);
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    monitorUrl: `http://127.0.0.1:${monitorPort}`,
    pause: kill,
    resume: () => launch(false),
    async stop() {
      await kill();
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}
