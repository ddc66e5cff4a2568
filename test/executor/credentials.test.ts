import { describe, expect, it } from "vitest";
import type { HttpTargetSpec } from "../../src/domain/job.js";
import { buildRequest, redactCredentials } from "../../src/executor/outgoing-request.js";
import { createSecretSource } from "../../src/executor/secrets.js";

const target = (extra: Partial<HttpTargetSpec>): HttpTargetSpec => ({
  url: "http://127.0.0.1:9/x",
  method: "POST",
  headers: {},
  body: "",
  timeoutMs: 1000,
  successCodes: [],
  ...extra,
});
const secrets = createSecretSource({ CRONMESH_SECRET_SVC: "svc-secret-value" }, {});
const ctx = { runId: "run_1", jobId: "job_1", scheduledAt: 0, attempt: 1 };
const echoed = (t: HttpTargetSpec, text: string) => redactCredentials(text, buildRequest(t, ctx, secrets).credentials);

describe("credentials a target echoes are redacted from the attempt's excerpt", () => {
  it.each<[string, HttpTargetSpec, string, string]>([
    [
      "a bearer token, alone or in its header",
      target({ auth: { kind: "bearer", token: "tok-123456" } }),
      "h=Bearer tok-123456 t=tok-123456",
      "h=[redacted] t=[redacted]",
    ],
    [
      "a basic password and its header",
      target({ auth: { kind: "basic", username: "bob", password: "pa55word" } }),
      `pw=pa55word h=Basic ${Buffer.from("bob:pa55word").toString("base64")}`,
      "pw=[redacted] h=[redacted]",
    ],
    ["an API key", target({ auth: { kind: "api_key", key: "key-abcdef", header: "X-API-Key" } }), "key-abcdef!", "[redacted]!"],
    [
      "a service token resolved from a secret reference",
      target({ auth: { kind: "service_token", token: "secret://svc", header: "X-Service-Token" } }),
      "got svc-secret-value",
      "got [redacted]",
    ],
    ["a credential header by its name", target({ headers: { Cookie: "session=abcd1234" } }), "c=session=abcd1234", "c=[redacted]"],
    ["any header whose value is a secret reference", target({ headers: { "X-Custom": "secret://svc" } }), "svc-secret-value", "[redacted]"],
    ["ordinary headers and words stay", target({ headers: { "X-Job": "invoice" } }), "invoice ok", "invoice ok"],
    ["values too short to redact safely stay", target({ auth: { kind: "bearer", token: "ok" } }), "ok done", "ok done"],
  ])("%s", (_name, t, text, expected) => {
    expect(echoed(t, text)).toBe(expected);
  });

  it("finds no credentials to look for in a request without auth or headers", () => {
    expect(buildRequest(target({}), ctx, secrets).credentials).toBeUndefined();
  });
});
