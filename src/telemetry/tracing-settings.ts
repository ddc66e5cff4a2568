import { ConfigError } from "../config/config.js";

/** What the tracing SDK is started with, read from the standard `OTEL_*` variables. */
export interface TracingSettings {
  /** Where spans are POSTed (OTLP/HTTP, protobuf). */
  tracesUrl: string;
  serviceName: string;
  /** BatchSpanProcessor tuning; a field left out falls back to the SDK's default. */
  batch: {
    scheduledDelayMillis?: number;
    maxQueueSize?: number;
    maxExportBatchSize?: number;
    exportTimeoutMillis?: number;
  };
}

/** The service name when `OTEL_SERVICE_NAME` is unset. */
export const DEFAULT_SERVICE_NAME = "cronmesh";

/** The only OTLP protocol cronmesh exports with. */
const PROTOCOL = "http/protobuf";

/**
 * Reads the tracing settings from an environment. Undefined means tracing is off: no endpoint is
 * set (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT`), or the SDK is
 * disabled (`OTEL_SDK_DISABLED=true`, `OTEL_TRACES_EXPORTER=none`). Throws a message naming the
 * variable when a value cannot work.
 */
export function tracingSettings(env: NodeJS.ProcessEnv): TracingSettings | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return undefined;
  if (env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() === "none") return undefined;
  const tracesUrl = tracesUrlOf(env);
  if (!tracesUrl) return undefined;
  checkProtocol(env);
  return {
    tracesUrl,
    serviceName: env.OTEL_SERVICE_NAME?.trim() || DEFAULT_SERVICE_NAME,
    batch: {
      scheduledDelayMillis: numberVar(env, "OTEL_BSP_SCHEDULE_DELAY"),
      maxQueueSize: numberVar(env, "OTEL_BSP_MAX_QUEUE_SIZE"),
      maxExportBatchSize: numberVar(env, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"),
      exportTimeoutMillis: numberVar(env, "OTEL_BSP_EXPORT_TIMEOUT"),
    },
  };
}

/** The signal-specific endpoint is used as is; the generic one gets `/v1/traces` appended (OTLP spec). */
function tracesUrlOf(env: NodeJS.ProcessEnv): string | undefined {
  const specific = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (specific) return checkedUrl("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", specific);
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!base) return undefined;
  return checkedUrl("OTEL_EXPORTER_OTLP_ENDPOINT", `${base.replace(/\/+$/, "")}/v1/traces`);
}

function checkedUrl(name: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw tracingConfigError(name, `must be an http(s) URL, got ${JSON.stringify(value)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw tracingConfigError(name, `must be an http(s) URL, got ${JSON.stringify(value)}`);
  return url.toString();
}

function checkProtocol(env: NodeJS.ProcessEnv): void {
  for (const name of ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"]) {
    const value = env[name]?.trim();
    if (!value) continue;
    if (value !== PROTOCOL)
      throw tracingConfigError(name, `cronmesh exports OTLP over ${PROTOCOL} only (port 4318 of a Collector), got ${JSON.stringify(value)}`);
    return;
  }
}

function numberVar(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw tracingConfigError(name, `must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return n;
}

function tracingConfigError(name: string, message: string): ConfigError {
  return new ConfigError(`invalid configuration: ${name} ${message}`);
}
