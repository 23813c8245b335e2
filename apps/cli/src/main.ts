import { processOutput } from './output.js';
import { run } from './program.js';

// Ctrl-C ends `audit tail --follow` cleanly; a second Ctrl-C exits at once.
const stop = new AbortController();
process.once('SIGINT', () => {
  stop.abort();
  process.once('SIGINT', () => process.exit(130));
});
process.once('SIGTERM', () => stop.abort());
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
});

process.exitCode = await run(process.argv.slice(2), { env: process.env, cwd: process.cwd(), output: processOutput }, stop.signal);
