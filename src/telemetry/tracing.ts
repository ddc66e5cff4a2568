import { context, diag, DiagLogLevel, propagation, ROOT_CONTEXT, trace } from "@opentelemetry/api";
import type { Instrumentation } from "@opentelemetry/instrumentation";
import type { Logger } from "pino";
import { RESOURCE_ATTR } from "./attributes.js";
import { mongoStatement } from "./mongo-statement.js";
import { tracingSettings, type TracingSettings } from "./tracing-settings.js";

/** A node's hold on the process-wide tracing SDK. */
export interface Tracing {
  /** True when spans are exported; false when the API's no-op tracer is in place. */
  readonly enabled: boolean;
  /** Releases this hold. The last one flushes pending spans and shuts the SDK down. */
  stop(): Promise<void>;
}

/** Who this process is, for the resource every span carries. */
export interface ServiceIdentity {
  nodeId: string;
  version: string;
  /** Receives the SDK's own warnings (an unreachable collector, dropped spans). */
  log: Logger;
}

interface Installed {
  provider: { forceFlush(): Promise<void>; shutdown(): Promise<void> };
  uninstall: () => void;
  holders: number;
}

/** The SDK is process-global (one tracer provider, one context manager): started once, shared. */
let installing: Promise<Installed> | undefined;
/**
 * The MongoDB instrumentation outlives SDK restarts: it patches `mongodb` when the driver is first
 * loaded, and only the same instance can patch it again after a later start.
 */
let mongoInstrumentation: Instrumentation | undefined;

const OFF: Tracing = { enabled: false, stop: async () => undefined };

/**
 * Starts tracing from the standard `OTEL_*` variables of `env`, or does nothing when no OTLP
 * endpoint is set (the API's no-op tracer then makes every span cost next to nothing). Must run
 * before the `mongodb` driver is first imported, so its calls are traced. Nodes of one process
 * share the SDK: the first start's settings apply, and the last stop shuts it down.
 */
export async function startTracing(env: NodeJS.ProcessEnv, identity: ServiceIdentity): Promise<Tracing> {
  const settings = tracingSettings(env);
  if (!settings) return OFF;
  // A failed install (a broken SDK package) is not kept: the next start tries again.
  installing ??= install(settings, identity).catch((err: unknown) => {
    installing = undefined;
    throw err;
  });
  const installed = await installing;
  installed.holders++;
  let stopped = false;
  return {
    enabled: true,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (--installed.holders > 0) return;
      // Globals first, so a start right after this stop installs afresh; ended spans still flush.
      installing = undefined;
      installed.uninstall();
      await installed.provider.shutdown();
    },
  };
}

/** True while the SDK is installed in this process. */
export function tracingActive(): boolean {
  return installing !== undefined;
}

/** Exports every span ended so far (tests, benchmarks). Resolves at once when tracing is off. */
export async function flushTracing(): Promise<void> {
  await (await installing)?.provider.forceFlush();
}

async function install(settings: TracingSettings, identity: ServiceIdentity): Promise<Installed> {
  // Loaded only when tracing is on: a node without an endpoint never loads the SDK.
  const [{ NodeTracerProvider }, { BatchSpanProcessor }, { OTLPTraceExporter }, resources, { registerInstrumentations }, { MongoDBInstrumentation }] =
    await Promise.all([
      import("@opentelemetry/sdk-trace-node"),
      import("@opentelemetry/sdk-trace-base"),
      import("@opentelemetry/exporter-trace-otlp-proto"),
      import("@opentelemetry/resources"),
      import("@opentelemetry/instrumentation"),
      import("@opentelemetry/instrumentation-mongodb"),
    ]);
  diag.setLogger(diagToPino(identity.log), DiagLogLevel.WARN);
  // Ours first, then OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES on top, as the spec orders them.
  const resource = resources
    .defaultResource()
    .merge(
      resources.resourceFromAttributes({
        [RESOURCE_ATTR.serviceName]: settings.serviceName,
        [RESOURCE_ATTR.serviceVersion]: identity.version,
        [RESOURCE_ATTR.serviceInstanceId]: identity.nodeId,
      }),
    )
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  const exporter = new OTLPTraceExporter({ url: settings.tracesUrl });
  const provider = new NodeTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(exporter, settings.batch)] });
  provider.register();
  // Database values are never recorded (jobs hold secrets), and only calls made inside an RPC or
  // a run are traced, not the fire loop's background queries.
  mongoInstrumentation ??= new MongoDBInstrumentation({ enabled: false, requireParentSpan: true, dbStatementSerializer: mongoStatement });
  const unregister = registerInstrumentations({ tracerProvider: provider, instrumentations: [mongoInstrumentation] });
  const uninstall = () => {
    unregister();
    trace.disable();
    context.disable();
    propagation.disable();
    diag.disable();
  };
  return { provider, uninstall, holders: 0 };
}

/**
 * The SDK's own messages, logged outside any span: they are about the SDK (an export failed,
 * spans were dropped), not about the run or RPC that happened to be active when it spoke.
 */
function diagToPino(log: Logger) {
  const at =
    (level: "error" | "warn" | "info" | "debug" | "trace") =>
    (message: string, ...args: unknown[]) =>
      context.with(ROOT_CONTEXT, () => log[level]({ otel: args.length > 0 ? args.map(String) : undefined }, `opentelemetry: ${message}`));
  return { error: at("error"), warn: at("warn"), info: at("info"), debug: at("debug"), verbose: at("trace") };
}
