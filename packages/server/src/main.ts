/** `npm start`: one node on the configured port; SIGTERM drains gracefully and exits 0. */
import { loadConfig } from './config.js';
import { createNode, type LetterNode } from './node.js';
import { isUnavailableError } from './util/unavailable.js';

const config = loadConfig();
/** Set once createNode resolved (start-up may wait for the database first). */
const started: { node?: LetterNode } = {};

/** The node's logger once there is one; before that (start-up), JSON lines on stderr. */
const log = {
  error: (details: { err: unknown }, message: string) =>
    started.node
      ? started.node.app.log.error(details, message)
      : console.error(JSON.stringify({ message, err: String(details.err) })),
  fatal: (details: { err: unknown }, message: string) =>
    started.node
      ? started.node.app.log.fatal(details, message)
      : console.error(JSON.stringify({ message, err: String(details.err) })),
};

// A dependency going away never ends the process (ARCHITECTURE.md). A promise nobody awaited
// that rejects is a bug to fix, not a reason to drop every socket: it is logged loudly instead.
process.on('unhandledRejection', (reason) => {
  log.error({ err: reason }, 'BUG: unhandled promise rejection (the process carries on)');
});
// An exception nobody caught leaves the process in an unknown state, except a lost connection
// (an 'error' event of a client library without a listener): that one is logged and survived,
// anything else ends the process with 1 for the supervisor to restart it.
process.on('uncaughtException', (error) => {
  if (isUnavailableError(error)) {
    log.error({ err: error }, 'BUG: uncaught connection error (the process carries on)');
    return;
  }
  log.fatal({ err: error }, 'uncaught exception; exiting');
  process.exit(1);
});

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  // Still waiting for the database at start-up: nothing to drain.
  const node = started.node;
  if (!node) process.exit(0);
  node.app.log.info({ signal }, 'draining');
  node.stop().then(
    () => process.exit(0),
    (error: unknown) => {
      node.app.log.error({ err: error }, 'stop failed');
      process.exit(1);
    },
  );
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));

const node = await createNode({ config });
started.node = node;
const address = await node.listen();
node.app.log.info(`Letter is listening on ${address}`);
if (node.metricsUrl) node.app.log.info(`metrics are served at ${node.metricsUrl}/metrics`);
if (process.stdout.isTTY || process.env.LETTER_PRINT_ADDRESS !== 'off') {
  console.log(`Letter: open ${address} in your browser`);
}
