import { randomBytes } from "node:crypto";
import { pino } from "pino";
import { createRunService } from "./api/run-service.js";
import { createCronService } from "./api/cron-service.js";
import { registerRoutes } from "./api/routes.js";
import { startServer, type RunningServer } from "./api/server.js";
import { createJobCommands } from "./app/jobs.js";
import { createRunCommands } from "./app/runs.js";
import { loadConfig, type Config } from "./config/config.js";
import { createLocalCoordinator } from "./coordination/local/local-coordinator.js";
import { createIdGenerator } from "./domain/ids.js";
import { createSystemClock } from "./runtime/system-clock.js";
import { createMongoStore } from "./store/mongo/mongo-store.js";
import { createSqliteStore } from "./store/sqlite/sqlite-store.js";
import type { Store } from "./store/store.js";

/** Version reported to the cluster. */
const VERSION = "0.1.0";

/** A started cronmesh node. */
export interface Node {
  server: RunningServer;
  stop(): Promise<void>;
}

function createStore(config: Config): Store {
  return config.mongo ? createMongoStore(config.mongo) : createSqliteStore({ path: config.sqlitePath });
}

/** Wires every part of one node from its configuration and starts serving. */
export async function startNode(config: Config, log = pino({ level: config.logLevel })): Promise<Node> {
  const clock = createSystemClock();
  const store = createStore(config);
  await store.init();
  const coordinator = createLocalCoordinator({ nodeId: config.nodeId, address: `${config.host}:${config.port}`, version: VERSION, clock });
  await coordinator.start();
  const deps = { store, clock, coordinator, ids: createIdGenerator(clock, randomBytes) };
  const jobs = createJobCommands(deps);
  const runs = createRunCommands(deps);
  const routes = registerRoutes(
    createCronService({ jobs, runs, store, clock, coordinator, mode: "single" }),
    createRunService({ runs, store }),
  );
  const server = await startServer({ host: config.host, port: config.port, routes, now: clock.now });
  log.info({ port: server.port, store: config.mongo ? "mongodb" : "sqlite", nodeId: config.nodeId }, "cronmesh listening");
  return {
    server,
    async stop() {
      await server.close(config.shutdownGraceMs);
      await coordinator.stop();
      await store.close();
    },
  };
}

async function main(): Promise<void> {
  const log = pino({ level: process.env.LOG_LEVEL || "info" });
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    log.fatal((err as Error).message);
    process.exit(1);
  }
  const node = await startNode(config, log);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down");
    node.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
