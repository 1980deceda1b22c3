/** `npm start`: one node on the configured port; SIGTERM drains gracefully and exits 0. */
import { loadConfig } from './config.js';
import { createNode } from './node.js';

const config = loadConfig();
const node = await createNode({ config });
const address = await node.listen();
node.app.log.info(`Letter is listening on ${address}`);
if (node.metricsUrl) node.app.log.info(`metrics are served at ${node.metricsUrl}/metrics`);
if (process.stdout.isTTY || process.env.LETTER_PRINT_ADDRESS !== 'off') {
  console.log(`Letter: open ${address} in your browser`);
}

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
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
