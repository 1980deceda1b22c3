/**
 * The four chaos scenarios. Each builds a World, runs its rounds and tears everything down
 * (processes, proxies, PostgreSQL schema), whatever happened.
 *
 * a. SQLite, one node: kill -9 under load and restart on the same data dir; some rounds also cut
 *    or black-hole the clients' path first.
 * b. PostgreSQL behind a fault proxy: cut, half-open or slow for 2–10 s under load.
 * c. Two nodes on PostgreSQL, Redis behind a fault proxy: cut, half-open or slow for 2–10 s
 *    under load, clients spread over both nodes; the load stops as Redis returns.
 * d. Two nodes (PostgreSQL + Redis): one killed -9 under load, its clients sent to the other,
 *    then restarted.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { FaultProxy } from '@letter/server/dist/testing/fault-proxy.js';
import {
  adminQuery,
  dropSchema,
  freshSchemaName,
} from '@letter/server/dist/store/postgres/testing.js';
import { between, sleep, World, type Node, type RoundResult, type Settings } from './world.js';

export interface Services {
  pgUrl: string | undefined;
  redisUrl: string | undefined;
}

export interface ScenarioContext {
  settings: Settings;
  services: Services;
  workDir: string;
  runId: string;
  /** Called with each round's result as soon as it is known. */
  onRound: (result: RoundResult) => void;
}

export interface Scenario {
  id: string;
  title: string;
  needs: (keyof Services)[];
  rounds: (quick: boolean) => number;
  run: (ctx: ScenarioContext) => Promise<void>;
}

/** A PostgreSQL URL whose connections use `schema` (merged into pg's `options` by the store). */
function withSchema(url: string, schema: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('options', `-c search_path=${schema}`);
  return parsed.toString();
}

/** Seconds a dependency stays away: 2–10 s (2 s in the quick run). */
const outageMs = (quick: boolean) => (quick ? 2_000 : between(2_000, 10_000));

async function withWorld(
  ctx: ScenarioContext,
  id: string,
  body: (world: World) => Promise<void>,
  cleanup: () => Promise<void> = async () => {},
): Promise<void> {
  const world = new World(id, ctx.settings, ctx.runId);
  try {
    await body(world);
  } finally {
    await world.close().catch(() => {});
    await cleanup().catch(() => {});
  }
}

async function pgSchema(url: string): Promise<{ schema: string; url: string }> {
  const schema = freshSchemaName();
  // freshSchemaName is `letter_` + hex: safe as an identifier.
  await adminQuery(url, `CREATE SCHEMA "${schema}"`);
  return { schema, url: withSchema(url, schema) };
}

const nodeSpec = (ctx: ScenarioContext, name: string, env: Record<string, string>) => ({
  name,
  dataDir: join(ctx.workDir, name),
  logFile: join(ctx.workDir, `${name}.log`),
  env,
});

const sqliteKill: Scenario = {
  id: 'a',
  title: 'SQLite, kill -9 under load, restart on the same data dir',
  needs: [],
  rounds: (quick) => (quick ? 3 : 20),
  run: (ctx) =>
    withWorld(ctx, 'a', async (world) => {
      const node = await world.addNode(nodeSpec(ctx, 'a-node', {}));
      await world.addClients(4);
      const rounds = sqliteKill.rounds(ctx.settings.quick);
      for (let i = 0; i < rounds; i++) {
        // Plain kills, kills while the clients' path is cut, and while it is half-open.
        const variant = (['kill -9', 'cut + kill -9', 'half-open + kill -9'] as const)[i % 3]!;
        ctx.onRound(
          await world.runRound(variant, async () => {
            await sleep(between(500, 2_500));
            await world.burst(5);
            world.markFault();
            if (variant === 'cut + kill -9') node.front.cut();
            if (variant === 'half-open + kill -9') node.front.blackhole();
            await node.server.kill9();
            world.noteIntegrity(world.integrityAfterKill(node));
            await node.server.start();
            if (variant !== 'kill -9') {
              await sleep(between(500, 2_000));
              node.front.restore();
            }
          }),
        );
      }
    }),
};

const postgresOutage: Scenario = {
  id: 'b',
  title: 'PostgreSQL behind a proxy: cut, half-open or slow for 2–10 s under load',
  needs: ['pgUrl'],
  rounds: (quick) => (quick ? 3 : 6),
  run: async (ctx) => {
    const pgUrl = ctx.services.pgUrl!;
    const pg = await pgSchema(pgUrl);
    const proxy = await FaultProxy.forUrl(pgUrl);
    await withWorld(
      ctx,
      'b',
      async (world) => {
        await world.addNode(nodeSpec(ctx, 'b-node', { LETTER_DATABASE_URL: proxy.urlFor(pg.url) }));
        await world.addClients(4);
        for (let i = 0; i < postgresOutage.rounds(ctx.settings.quick); i++) {
          ctx.onRound(
            await world.runRound(...dependencyOutage(world, proxy, i, ctx.settings.quick)),
          );
        }
      },
      async () => {
        await proxy.close();
        await dropSchema(pgUrl, pg.schema);
      },
    );
  },
};

/** Rounds take turns: the dependency cut, half-open (black-holed), or slow, for 2–10 s. */
function dependencyOutage(
  world: World,
  proxy: FaultProxy,
  round: number,
  quick: boolean,
): [string, () => Promise<void>] {
  const kind = (['cut', 'half-open', 'slow'] as const)[round % 3]!;
  const ms = outageMs(quick);
  const latency = Math.round(between(200, 500));
  const label = kind === 'slow' ? `slow (+${latency} ms)` : kind;
  return [
    `${label} ${(ms / 1000).toFixed(1)} s`,
    async () => {
      await sleep(between(500, 1_500));
      world.markFault();
      if (kind === 'cut') proxy.cut();
      else if (kind === 'half-open') proxy.blackhole();
      else proxy.delay(latency);
      await sleep(ms);
      proxy.delay(0);
      proxy.restore();
    },
  ];
}

async function twoNodes(
  ctx: ScenarioContext,
  world: World,
  id: string,
  env: Record<string, string>,
): Promise<[Node, Node]> {
  const a = await world.addNode(nodeSpec(ctx, `${id}-node1`, env));
  const b = await world.addNode(nodeSpec(ctx, `${id}-node2`, env));
  await world.addClients(6);
  return [a, b];
}

const redisOutage: Scenario = {
  id: 'c',
  title: 'Two nodes, Redis behind a proxy: cut, half-open or slow for 2–10 s under load',
  needs: ['pgUrl', 'redisUrl'],
  rounds: (quick) => (quick ? 2 : 6),
  run: async (ctx) => {
    const pgUrl = ctx.services.pgUrl!;
    const pg = await pgSchema(pgUrl);
    const proxy = await FaultProxy.forUrl(ctx.services.redisUrl!);
    await withWorld(
      ctx,
      'c',
      async (world) => {
        await twoNodes(ctx, world, 'c', {
          LETTER_DATABASE_URL: pg.url,
          LETTER_REDIS_URL: proxy.urlFor(ctx.services.redisUrl!),
          LETTER_REDIS_PREFIX: `letter-chaos-${randomBytes(6).toString('hex')}:`,
        });
        for (let i = 0; i < redisOutage.rounds(ctx.settings.quick); i++) {
          // The load stops as Redis returns: what the other node missed while it was away
          // must reach its clients without a later message showing the gap.
          const [fault, inject] = dependencyOutage(world, proxy, i, ctx.settings.quick);
          ctx.onRound(await world.runRound(fault, inject, { loadAfterFault: false }));
        }
      },
      async () => {
        await proxy.close();
        await dropSchema(pgUrl, pg.schema);
      },
    );
  },
};

const nodeKill: Scenario = {
  id: 'd',
  title: 'Two nodes (PostgreSQL + Redis): one killed -9 under load, its clients move over',
  needs: ['pgUrl', 'redisUrl'],
  rounds: (quick) => (quick ? 1 : 10),
  run: async (ctx) => {
    const pgUrl = ctx.services.pgUrl!;
    const pg = await pgSchema(pgUrl);
    await withWorld(
      ctx,
      'd',
      async (world) => {
        const nodes = await twoNodes(ctx, world, 'd', {
          LETTER_DATABASE_URL: pg.url,
          LETTER_REDIS_URL: ctx.services.redisUrl!,
          LETTER_REDIS_PREFIX: `letter-chaos-${randomBytes(6).toString('hex')}:`,
        });
        for (let i = 0; i < nodeKill.rounds(ctx.settings.quick); i++) {
          const victim = nodes[i % 2]!;
          const survivor = nodes[(i + 1) % 2]!;
          ctx.onRound(
            await world.runRound(`kill -9 ${victim.server.spec.name}`, async () => {
              await sleep(between(500, 2_500));
              // The victim's clients reconnect through their proxy, which now leads to the
              // survivor (a load balancer taking a dead node out).
              victim.target.port = survivor.server.port;
              await world.burst(5);
              world.markFault();
              await victim.server.kill9();
              await sleep(between(500, 2_000));
              await victim.server.start();
              victim.target.port = victim.server.port;
            }),
          );
        }
      },
      () => dropSchema(pgUrl, pg.schema),
    );
  },
};

export const scenarios: Scenario[] = [sqliteKill, postgresOutage, redisOutage, nodeKill];
