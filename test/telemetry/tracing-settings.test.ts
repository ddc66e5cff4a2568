import { describe, expect, it } from "vitest";
import { tracingSettings } from "../../src/telemetry/tracing-settings.js";

const ENDPOINT = "http://collector:4318";

describe("tracing settings from OTEL_* variables", () => {
  const off: { name: string; env: Record<string, string> }[] = [
    { name: "no endpoint at all", env: {} },
    { name: "an empty endpoint", env: { OTEL_EXPORTER_OTLP_ENDPOINT: " " } },
    { name: "the SDK disabled", env: { OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT, OTEL_SDK_DISABLED: "true" } },
    { name: "the traces exporter set to none", env: { OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT, OTEL_TRACES_EXPORTER: "none" } },
  ];
  for (const c of off) it(`is off with ${c.name}`, () => expect(tracingSettings(c.env)).toBeUndefined());

  const urls: { name: string; env: Record<string, string>; url: string }[] = [
    { name: "the generic endpoint gets /v1/traces", env: { OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT }, url: `${ENDPOINT}/v1/traces` },
    { name: "a trailing slash is not doubled", env: { OTEL_EXPORTER_OTLP_ENDPOINT: `${ENDPOINT}/` }, url: `${ENDPOINT}/v1/traces` },
    { name: "a base path is kept", env: { OTEL_EXPORTER_OTLP_ENDPOINT: `${ENDPOINT}/otlp` }, url: `${ENDPOINT}/otlp/v1/traces` },
    { name: "the traces endpoint is used as is", env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${ENDPOINT}/custom` }, url: `${ENDPOINT}/custom` },
    {
      name: "the traces endpoint wins over the generic one",
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: "http://other:4318", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${ENDPOINT}/v1/traces` },
      url: `${ENDPOINT}/v1/traces`,
    },
  ];
  for (const c of urls) it(`exports to the right URL: ${c.name}`, () => expect(tracingSettings(c.env)?.tracesUrl).toBe(c.url));

  it("names the service cronmesh unless OTEL_SERVICE_NAME says otherwise", () => {
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT })?.serviceName).toBe("cronmesh");
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT, OTEL_SERVICE_NAME: "cron-eu" })?.serviceName).toBe("cron-eu");
  });

  it("takes the batch processor's tuning from OTEL_BSP_*", () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT, OTEL_BSP_SCHEDULE_DELAY: "50", OTEL_BSP_MAX_QUEUE_SIZE: "65536" };
    expect(tracingSettings(env)?.batch).toEqual({
      scheduledDelayMillis: 50,
      maxQueueSize: 65536,
      maxExportBatchSize: undefined,
      exportTimeoutMillis: undefined,
    });
  });

  const refused: { name: string; env: Record<string, string>; variable: string }[] = [
    { name: "an endpoint that is not a URL", env: { OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" }, variable: "OTEL_EXPORTER_OTLP_ENDPOINT" },
    { name: "a traces endpoint that is not http(s)", env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "ftp://x/" }, variable: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" },
    { name: "the grpc protocol", env: { OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }, variable: "OTEL_EXPORTER_OTLP_PROTOCOL" },
    {
      name: "http/json for traces",
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json", OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf" },
      variable: "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    },
    { name: "a negative export delay", env: { OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT, OTEL_BSP_SCHEDULE_DELAY: "-1" }, variable: "OTEL_BSP_SCHEDULE_DELAY" },
  ];
  for (const c of refused) {
    it(`refuses ${c.name}, naming the variable`, () => expect(() => tracingSettings(c.env)).toThrow(new RegExp(`^invalid configuration: ${c.variable} `)));
  }

  it("accepts http/protobuf stated explicitly", () => {
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf" })).toBeDefined();
  });
});
