import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { apiKeyHash } from "../../src/auth/api-key-authenticator.js";
import { hashPassword } from "../../src/auth/password-hash.js";
import { loadConfig } from "../../src/config/config.js";
import { loadSecurityConfig, securityWarnings } from "../../src/config/security-config.js";
import { makeKeyPair } from "../../deploy/make-token.js";

const dir = mkdtempSync(join(tmpdir(), "cronmesh-security-config-"));
const file = (name: string, value: unknown) => {
  const path = join(dir, name);
  writeFileSync(path, typeof value === "string" ? value : JSON.stringify(value));
  return path;
};
const KEY = randomBytes(32).toString("base64");
const HASH = apiKeyHash("a-key");
const SECRET = "s".repeat(32);
const CLUSTER = { MONGODB_URI: "mongodb://127.0.0.1:27017", ETCD_ENDPOINTS: "127.0.0.1:2379" };

describe("security configuration", () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("defaults to no authentication, no key, one fire a second at most, 10,000 jobs per project, no rate limit", () => {
    expect(loadSecurityConfig({}, false)).toEqual({
      auth: { mode: "none" },
      authModeSet: false,
      secretKeys: { current: undefined, previous: [] },
      limits: { minScheduleIntervalMs: 1000, maxJobsPerProject: 10_000 },
      rateLimit: undefined,
    });
  });

  it("reads every setting", async () => {
    const users = file("users.json", [{ username: "bob", hash: await hashPassword("pw", { ln: 10, r: 8, p: 1 }), project: "p1", role: "reader" }]);
    const previous = randomBytes(32).toString("base64");
    const c = loadSecurityConfig(
      {
        AUTH_MODE: "basic",
        AUTH_BASIC_USERS_FILE: users,
        SECRETS_KEY: KEY,
        SECRETS_KEY_PREVIOUS: `${previous}, ${KEY}`,
        MIN_SCHEDULE_INTERVAL: "2m",
        MAX_JOBS_PER_PROJECT: "50",
        RATE_LIMIT_RPS: "2.5",
        RATE_LIMIT_BURST: "10",
      },
      false,
    );
    expect(c.auth).toMatchObject({ mode: "basic", users: [{ username: "bob", project: "p1", role: "reader" }] });
    expect(c.secretKeys.current?.toString("base64")).toBe(KEY);
    expect(c.secretKeys.previous.map((k) => k.toString("base64"))).toEqual([previous, KEY]);
    expect(c.limits).toEqual({ minScheduleIntervalMs: 120_000, maxJobsPerProject: 50 });
    expect(c.rateLimit).toEqual({ rps: 2.5, burst: 10 });
  });

  it.each([
    ["500ms", 500],
    ["1s", 1000],
    ["90", 90_000],
    ["1.5m", 90_000],
    ["1h", 3_600_000],
    ["0", 0],
  ])("reads MIN_SCHEDULE_INTERVAL=%s as %i ms", (value, ms) => {
    expect(loadSecurityConfig({ MIN_SCHEDULE_INTERVAL: value }, false).limits.minScheduleIntervalMs).toBe(ms);
  });

  it("reads JWT settings with their claim names, and a JWKS of public keys", async () => {
    expect(
      loadSecurityConfig(
        { AUTH_MODE: "jwt", AUTH_JWT_SECRET: SECRET, AUTH_JWT_ISSUER: "i", AUTH_JWT_AUDIENCE: "a", AUTH_PROJECT_CLAIM: "tenant", AUTH_ROLES_CLAIM: "perms" },
        false,
      ).auth,
    ).toEqual({ mode: "jwt", jwt: { secret: SECRET, issuer: "i", audience: "a", projectClaim: "tenant", rolesClaim: "perms" } });
    const { jwks } = await makeKeyPair("ES256");
    expect(loadSecurityConfig({ AUTH_MODE: "jwt", AUTH_JWKS_FILE: file("jwks.json", jwks) }, false).auth).toMatchObject({
      mode: "jwt",
      jwt: { jwks, projectClaim: "project_id", rolesClaim: "roles" },
    });
  });

  it("by default allows a burst of one second's calls", () => {
    expect(loadSecurityConfig({ RATE_LIMIT_RPS: "0.5" }, false).rateLimit).toEqual({ rps: 0.5, burst: 1 });
    expect(loadSecurityConfig({ RATE_LIMIT_RPS: "20" }, false).rateLimit).toEqual({ rps: 20, burst: 20 });
  });

  it("requires AUTH_MODE in cluster mode; none is then a decision, and a loud warning", () => {
    expect(() => loadConfig(CLUSTER)).toThrow(/AUTH_MODE must be set in cluster mode/);
    const config = loadConfig({ ...CLUSTER, AUTH_MODE: "none", SECRETS_KEY: KEY });
    expect(securityWarnings(config)).toEqual([expect.stringMatching(/^AUTH_MODE=none in cluster mode: ANY CALLER/)]);
  });

  it.each<[string, Record<string, string>, RegExp[]]>([
    ["no authentication on all interfaces", { HOST: "0.0.0.0", SECRETS_KEY: KEY }, [/authentication is off .* listens on 0\.0\.0\.0/]],
    ["no authentication on loopback: nothing to say", { HOST: "127.0.0.1", SECRETS_KEY: KEY }, []],
    ["no secrets key", { HOST: "::1" }, [/SECRETS_KEY is not set/]],
    ["authentication on and a key: nothing to say", { HOST: "0.0.0.0", AUTH_MODE: "jwt", AUTH_JWT_SECRET: SECRET, SECRETS_KEY: KEY }, []],
  ])("warns at start-up about %s", (_name, env, warnings) => {
    const lines = securityWarnings(loadConfig(env));
    expect(lines).toHaveLength(warnings.length);
    warnings.forEach((w, i) => expect(lines[i]).toMatch(w));
  });

  const refused: [string, Record<string, string>, RegExp][] = [
    ["an unknown mode", { AUTH_MODE: "oauth" }, /AUTH_MODE must be one of none, jwt, api_key, basic/],
    ["JWT without a key source", { AUTH_MODE: "jwt" }, /exactly one is needed with AUTH_MODE=jwt, got none/],
    ["JWT with two key sources", { AUTH_MODE: "jwt", AUTH_JWT_SECRET: SECRET, AUTH_JWKS_URL: "https://x/jwks" }, /got AUTH_JWT_SECRET, AUTH_JWKS_URL/],
    ["an HS256 secret shorter than 32 bytes", { AUTH_MODE: "jwt", AUTH_JWT_SECRET: "short" }, /AUTH_JWT_SECRET must be at least 32 bytes/],
    ["a JWKS URL that is not http(s)", { AUTH_MODE: "jwt", AUTH_JWKS_URL: "file:///etc/jwks" }, /AUTH_JWKS_URL must be an http\(s\) URL/],
    [
      "a JWKS file holding a private key",
      { AUTH_MODE: "jwt", AUTH_JWKS_FILE: file("private.json", { keys: [{ kty: "EC", crv: "P-256", x: "x", y: "y", d: "private-part" }] }) },
      /holds private key material/,
    ],
    [
      "a JWKS file of symmetric keys",
      { AUTH_MODE: "jwt", AUTH_JWKS_FILE: file("oct.json", { keys: [{ kty: "oct", k: "c2VjcmV0" }] }) },
      /RSA \(RS256\) and EC \(ES256\) are accepted/,
    ],
    ["API keys without a file", { AUTH_MODE: "api_key" }, /AUTH_API_KEYS_FILE is required/],
    [
      "an API keys file that is not JSON, without quoting it",
      { AUTH_MODE: "api_key", AUTH_API_KEYS_FILE: file("keys.txt", "sk_live_do_not_echo") },
      /AUTH_API_KEYS_FILE cannot read .*: it is not valid JSON$/,
    ],
    [
      "a key listed in clear instead of its hash",
      { AUTH_MODE: "api_key", AUTH_API_KEYS_FILE: file("clear.json", [{ sha256: "sk_live_123", name: "ci", project: "p1", role: "editor" }]) },
      /entry 0: sha256 must be 64 hex digits/,
    ],
    [
      "a key listed twice",
      {
        AUTH_MODE: "api_key",
        AUTH_API_KEYS_FILE: file("twice.json", [
          { sha256: HASH, name: "a", project: "p1", role: "editor" },
          { sha256: HASH, name: "b", project: "p1", role: "reader" },
        ]),
      },
      /entry 1: the same key is listed twice/,
    ],
    [
      "an unknown role",
      { AUTH_MODE: "api_key", AUTH_API_KEYS_FILE: file("role.json", [{ sha256: HASH, name: "a", project: "p1", role: "owner" }]) },
      /role must be reader, editor or admin/,
    ],
    [
      "project * for an editor",
      { AUTH_MODE: "api_key", AUTH_API_KEYS_FILE: file("star.json", [{ sha256: HASH, name: "a", project: "*", role: "editor" }]) },
      /project \* needs the admin role/,
    ],
    [
      "a basic user with a clear password",
      { AUTH_MODE: "basic", AUTH_BASIC_USERS_FILE: file("clear-users.json", [{ username: "bob", hash: "hunter2", project: "p1", role: "reader" }]) },
      /entry 0: hash is not a \$scrypt/,
    ],
    ["a SECRETS_KEY of the wrong length", { SECRETS_KEY: randomBytes(16).toString("base64") }, /SECRETS_KEY must be 32 random bytes in base64/],
    ["a SECRETS_KEY_PREVIOUS that is not base64", { SECRETS_KEY_PREVIOUS: "not a key!" }, /SECRETS_KEY_PREVIOUS must be 32 random bytes/],
    ["a MIN_SCHEDULE_INTERVAL that is not a duration", { MIN_SCHEDULE_INTERVAL: "often" }, /MIN_SCHEDULE_INTERVAL must be a duration/],
    ["a MAX_JOBS_PER_PROJECT of 0", { MAX_JOBS_PER_PROJECT: "0" }, /MAX_JOBS_PER_PROJECT must be an integer between 1/],
    ["a RATE_LIMIT_RPS of 0", { RATE_LIMIT_RPS: "0" }, /RATE_LIMIT_RPS must be a number of calls per second above 0/],
  ];
  it.each(refused)("refuses %s with a message naming the variable", (_name, env, message) => {
    expect(() => loadSecurityConfig(env, false)).toThrow(message);
    try {
      loadSecurityConfig(env, false);
    } catch (err) {
      for (const secret of ["sk_live_do_not_echo", "private-part", "not a key!"]) expect((err as Error).message).not.toContain(secret);
    }
  });
});
