import { randomBytes } from "node:crypto";
import type { LookupFunction } from "node:net";
import type { Logger } from "pino";
import { createRunService } from "./api/run-service.js";
import { authInterceptor } from "./api/auth-interceptor.js";
import { createCronService } from "./api/cron-service.js";
import { rateLimitInterceptor } from "./api/rate-limit-interceptor.js";
import { createHealthService } from "./api/health-service.js";
import { HEALTH_NAMES, registerRoutes } from "./api/routes.js";
import { startServer, type RunningServer } from "./api/server.js";
import { createJobCommands } from "./app/jobs.js";
import { createReadinessMonitor, type Probe } from "./app/readiness-monitor.js";
import { createClusterQueries } from "./app/cluster.js";
import { createRunCommands } from "./app/runs.js";
import { createAuthenticator } from "./auth/create-authenticator.js";
import { createRateLimiter } from "./auth/rate-limiter.js";
import { loadConfig, type Config } from "./config/config.js";
import { securityWarnings } from "./config/security-config.js";
import type { Coordinator } from "./coordination/coordinator.js";
import { createEtcdCoordinator } from "./coordination/etcd/etcd-coordinator.js";
import { createLocalCoordinator } from "./coordination/local/local-coordinator.js";
import type { Clock } from "./domain/clock.js";
import { createIdGenerator } from "./domain/ids.js";
import { createOutboundPolicy } from "./domain/outbound-policy.js";
import { createHttpClient } from "./executor/http-client.js";
import { createSecretSource } from "./executor/secrets.js";
import { createSystemClock } from "./runtime/system-clock.js";
import { youngCollector } from "./runtime/young-collector.js";
import { createLogger } from "./telemetry/logger.js";
import { createMetrics } from "./telemetry/metrics.js";
import { startTracing } from "./telemetry/tracing.js";
import { createClaimLoop, type ClaimLoop } from "./scheduler/claim-loop.js";
import { createClusterRunEvents, relayJobChanges } from "./scheduler/cluster-events.js";
import { createDeadLetterExpiry } from "./scheduler/dead-letter-expiry.js";
import { createDeletedJobRuns } from "./scheduler/deleted-job-runs.js";
import { createFireLoop, type FireLoop } from "./scheduler/fire-loop.js";
import { createOverload, type Overload } from "./scheduler/overload.js";
import { createJobCache } from "./scheduler/job-cache.js";
import { createLiveRuns } from "./scheduler/live-runs.js";
import { createLocalDispatcher, createRunDispatcher, type RunDispatcher } from "./scheduler/run-dispatcher.js";
import { createRunBookkeeping } from "./scheduler/run-bookkeeping.js";
import { createRunCanceller } from "./scheduler/run-canceller.js";
import { createRunEvents } from "./scheduler/run-events.js";
import { PROGRESS_DEFAULTS } from "./scheduler/run-progress.js";
import { createRunWorker, type RunWorker } from "./scheduler/run-worker.js";
import { createSealedStore } from "./store/sealed-store.js";
import { createSecretCipher } from "./store/secret-cipher.js";
import { createSqliteStore } from "./store/sqlite/sqlite-store.js";
import type { Store } from "./store/store.js";

/** Version reported to the cluster. */
const VERSION = "0.1.0";

/** A started cronmesh node. */
export interface Node {
  server: RunningServer;
  fireLoop: FireLoop;
  claimLoop: ClaimLoop;
  worker: RunWorker;
  coordinator: Coordinator;
  /** This node's run queue bound and overload state. */
  overload: Overload;
  stop(): Promise<void>;
}

/** Test and embedding hooks; production passes none. */
export interface NodeOverrides {
  clock?: Clock;
  log?: Logger;
  env?: NodeJS.ProcessEnv;
  /** Resolves target host names (tests stub DNS with it); the outbound policy checks its answers. */
  lookup?: LookupFunction;
}

/** The store: an adapter, its inline credentials sealed at rest (SECRETS_KEY). */
async function createStore(config: Config, log: Logger): Promise<Store> {
  return createSealedStore(await createAdapter(config, log), createSecretCipher(config.security.secretKeys));
}

/**
 * The MongoDB adapter is imported only when used, and after tracing has started: the MongoDB
 * instrumentation can patch the driver only if it is loaded after the instrumentation is enabled.
 */
async function createAdapter(config: Config, log: Logger): Promise<Store> {
  if (!config.mongo) return createSqliteStore({ path: config.sqlitePath, onError: (message) => log.warn({ message }, "background WAL checkpoint failed") });
  const { createMongoStore } = await import("./store/mongo/mongo-store.js");
  return createMongoStore({
    ...config.mongo,
    nodeId: config.nodeId,
    onClientReplaced: (failingForMs) => log.warn({ failingForMs }, "database client replaced: every call had failed for want of the server, none answered"),
  });
}

function createCoordinator(config: Config, clock: Clock, log: Logger): Coordinator {
  const identity = { nodeId: config.nodeId, address: config.advertiseAddress, version: VERSION };
  if (!config.etcd) return createLocalCoordinator({ ...identity, clock });
  return createEtcdCoordinator({ ...identity, ...config.etcd, clock, onError: (err, step) => log.warn({ err, step }, "coordination step failed") });
}

/** Authentication, then the per-identity rate limit when configured: every RPC passes both. */
function accessInterceptors(config: Config, now: () => number) {
  const { auth, rateLimit } = config.security;
  const authenticate = authInterceptor(createAuthenticator(auth, now));
  return rateLimit ? [authenticate, rateLimitInterceptor(createRateLimiter(rateLimit, now))] : [authenticate];
}

/**
 * Longest wait for one readiness probe. Beyond the adapters' own 2 s deadlines, so that their
 * message (refused, timed out) is the one reported when they give up first.
 */
const PROBE_TIMEOUT_MS = 2500;

/** What the node cannot serve without: the store, and etcd in cluster mode. */
function readinessProbes(config: Config, store: Store, coordinator: Coordinator): Probe[] {
  const probes: Probe[] = [{ name: "store", ping: () => store.ping() }];
  if (config.etcd) probes.push({ name: "etcd", ping: () => coordinator.ping() });
  return probes;
}

/** Runs the fire loop while this node may lead, and stops it when leadership ends. */
function followLeadership(coordinator: Coordinator, fireLoop: FireLoop, log: Logger): void {
  coordinator.onLeadershipChange((leading) => {
    log.info({ leading, nodeId: coordinator.nodeId }, leading ? "leading: fire loop starting" : "not leading: fire loop stopped");
    if (!leading) {
      fireLoop.stop();
      return;
    }
    const since = Date.now();
    void fireLoop.start().then(() => log.info({ loadMs: Date.now() - since }, "fire loop loaded"));
  });
}

/**
 * Wires every part of one node from its configuration and starts serving. The port opens before
 * the store is initialised and the cluster joined, so that liveness and readiness answer during
 * start-up (health and reflection serve; cronmesh calls get Unavailable until it is done).
 */
export async function startNode(config: Config, overrides: NodeOverrides = {}): Promise<Node> {
  const log = overrides.log ?? createLogger(config.logLevel);
  for (const warning of securityWarnings(config)) log.warn(warning);
  // First: the store's driver must load after tracing (and its MongoDB instrumentation) starts.
  const tracing = await startTracing(overrides.env ?? process.env, { nodeId: config.nodeId, version: VERSION, log });
  const clock = overrides.clock ?? createSystemClock();
  const onError = (err: unknown, step: string) => log.error({ err, step }, "background step failed");
  const store = await createStore(config, log);
  const coordinator = createCoordinator(config, clock, log);
  const readiness = createReadinessMonitor({
    probes: readinessProbes(config, store, coordinator),
    clock,
    intervalMs: config.readyProbeMs,
    timeoutMs: PROBE_TIMEOUT_MS,
  });
  const events = createClusterRunEvents(createRunEvents(), coordinator, clock);
  const ids = createIdGenerator(clock, randomBytes);
  const outbound = createOutboundPolicy(config.outbound);
  const http = createHttpClient({
    clock,
    connectionsPerOrigin: config.httpConnections,
    outbound,
    lookup: overrides.lookup,
    excerptBytes: config.responseExcerptBytes,
  });
  const secrets = createSecretSource(overrides.env ?? process.env, config.secretsFile);
  const jobCache = createJobCache(store);
  let worker: RunWorker | undefined;
  // The fire loop's check includes the worker's: history trims wait for both (called once running, after fireLoop exists).
  const trimsBetweenSlots = () => fireLoop.betweenSlots();
  const bookkeeping = createRunBookkeeping(
    store,
    clock,
    { statsFlushMs: config.statsFlushMs, trimIntervalMs: config.historyTrimMs, betweenSlots: trimsBetweenSlots },
    onError,
  );
  const metrics = createMetrics({
    deadLetterDepth: () => store.countDeadLetters(),
    queueDepth: () => worker?.waiting() ?? 0,
    isLeader: () => coordinator.canFire(),
    load: () => overload.load(),
  });
  const overload = createOverload({
    clock,
    metrics,
    log,
    queue: () => worker!,
    options: { maxQueuedRuns: config.maxQueuedRuns, concurrency: config.workerConcurrency },
  });
  overload.onChange(({ overloaded, queuedRuns }) => {
    void coordinator.reportLoad({ overloaded, queuedRuns }).catch((err: unknown) => onError(err, "report load"));
  });
  worker = createRunWorker({
    store,
    metrics,
    clock,
    http,
    secrets,
    handlers: config.handlers,
    events,
    jobs: jobCache,
    bookkeeping,
    nodeId: config.nodeId,
    concurrency: config.workerConcurrency,
    progress: { ...PROGRESS_DEFAULTS, writeBatchMs: config.runWriteBatchMs, checkpointMs: config.runCheckpointMs },
    onError,
    log,
    prepareForSlot: youngCollector(),
    manualStartDeadlineMs: config.manualStartDeadlineMs,
    overload,
  });
  const claimOptions = { scanMs: config.claimScanMs, releaseBatchMs: config.runWriteBatchMs };
  const claimLoop = createClaimLoop({ store, coordinator, worker, jobs: jobCache, clock, capacity: overload, options: claimOptions, onError });
  const dispatcher: RunDispatcher = config.etcd ? createRunDispatcher(coordinator, onError) : createLocalDispatcher(claimLoop.offer, onError);
  const canceller = createRunCanceller({ store, coordinator, worker, clock, events });
  const fireLoop = createFireLoop({ store, metrics, clock, coordinator, dispatcher, canceller, events, ids, jobs: jobCache, sends: worker, overload, onError });
  const deadLetterExpiry = createDeadLetterExpiry({
    store,
    clock,
    metrics,
    retentionMs: config.deadLetterRetentionMs,
    mayRun: () => coordinator.canFire(),
    betweenSlots: trimsBetweenSlots,
    onError,
  });
  const deletedJobRuns = createDeletedJobRuns({
    store,
    clock,
    metrics,
    retentionMs: config.deletedJobRunRetentionMs,
    mayRun: () => coordinator.canFire(),
    betweenSlots: trimsBetweenSlots,
    onError,
  });
  const jobRelay = relayJobChanges(
    coordinator,
    (jobId, version) => {
      jobCache.forget(jobId, version);
      fireLoop.jobChanged(jobId);
    },
    onError,
  );
  // This replica's cache forgets the job before the change is answered; the others on the bus.
  const jobChanged = (jobId: string, version: number) => {
    jobCache.forget(jobId, version);
    jobRelay.changed(jobId, version);
  };
  const live = createLiveRuns(coordinator, worker);
  const deps = { store, clock, coordinator, ids, dispatcher, canceller, events, metrics, jobChanged, live, outbound, limits: config.security.limits };
  const runs = createRunCommands(deps);
  const routes = registerRoutes(
    createCronService({
      jobs: createJobCommands(deps),
      runs,
      cluster: createClusterQueries(deps, runs, overload.load),
      clock,
      mode: config.etcd ? "cluster" : "single",
    }),
    createRunService({ runs, events }),
    createHealthService(readiness, HEALTH_NAMES),
  );
  const server = await startServer({
    host: config.host,
    port: config.port,
    routes,
    now: clock.now,
    metrics,
    log,
    readiness,
    consoleDir: config.consoleDir,
    corsOrigins: config.corsOrigins,
    access: accessInterceptors(config, clock.now),
  });
  log.info({ port: server.port }, "port open, starting");
  try {
    await store.init();
    followLeadership(coordinator, fireLoop, log);
    await coordinator.start();
    claimLoop.start();
    deadLetterExpiry.start();
    deletedJobRuns.start();
    await readiness.start();
  } catch (err) {
    // Nothing holds work yet: close what was opened, then report the cause.
    readiness.stop();
    fireLoop.stop();
    claimLoop.stop();
    deadLetterExpiry.stop();
    deletedJobRuns.stop();
    overload.stop();
    canceller.stop();
    jobRelay.stop();
    await server.close(0);
    await Promise.allSettled([coordinator.stop(), http.close(), store.close()]);
    await tracing.stop();
    throw err;
  }
  const mode = config.etcd ? "cluster" : "single";
  const auth = config.security.auth.mode;
  log.info(
    { port: server.port, store: config.mongo ? "mongodb" : "sqlite", mode, nodeId: config.nodeId, tracing: tracing.enabled, authMode: auth },
    auth === "none" ? "cronmesh listening, without authentication (AUTH_MODE=none): every caller is an admin of every project" : "cronmesh listening",
  );
  return {
    server,
    fireLoop,
    claimLoop,
    worker,
    coordinator,
    overload,
    async stop() {
      // Not ready at once (health watchers see NOT_SERVING). Hand leadership over first (a
      // successor fires at once), then drain this node's runs while still holding their claims,
      // and only then leave the cluster.
      readiness.stop();
      fireLoop.stop();
      claimLoop.stop();
      deadLetterExpiry.stop();
      deletedJobRuns.stop();
      overload.stop();
      await coordinator.resign();
      await server.close(config.shutdownGraceMs);
      await fireLoop.settled();
      await worker!.stop(config.shutdownGraceMs);
      await claimLoop.handedBack();
      canceller.stop();
      jobRelay.stop();
      live.stop();
      await coordinator.stop();
      await http.close();
      await store.close();
      await tracing.stop();
    },
  };
}

/**
 * Runs the service as a process: reads the configuration from `env` (exiting with status 1 and
 * the message when it is invalid), starts the node, and stops it on SIGTERM or SIGINT (exit 0,
 * or 1 when shutdown fails). `node dist/src/main.js` and `cronmesh serve` both come here.
 */
export async function serve(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const log = createLogger(env.LOG_LEVEL || "info");
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (err) {
    log.fatal((err as Error).message);
    process.exit(1);
  }
  const node = await startNode(config, { log, env });
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
  serve().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
