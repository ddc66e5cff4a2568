import { SignJWT, UnsecuredJWT } from "jose";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { createJwtAuthenticator, type JwtSettings } from "../../src/auth/jwt-authenticator.js";
import { CronError } from "../../src/domain/cron-error.js";
import { makeJwt, makeKeyPair, type JwtOptions } from "../../deploy/make-token.js";

const T0 = Date.parse("2026-03-01T12:00:00Z");
const SECRET = "jwt-unit-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
const HS: JwtSettings = { secret: SECRET, issuer: "https://issuer.test", audience: "cronmesh", projectClaim: "project_id", rolesClaim: "roles" };
const BASE: JwtOptions = { secret: SECRET, sub: "alice", project: "p1", roles: ["editor"], issuer: "https://issuer.test", audience: "cronmesh", now: T0 };

/** The identity, or the refusal's code and message; checks that a refusal never quotes the token. */
async function outcome(settings: JwtSettings, token: string, now = T0) {
  try {
    return await createJwtAuthenticator(settings, () => now).authenticate(new Headers({ authorization: `Bearer ${token}` }));
  } catch (err) {
    const e = err as CronError;
    expect(e).toBeInstanceOf(CronError);
    expect(e.message).not.toContain(token);
    expect(e.message).not.toContain(token.split(".")[2] || token);
    return { code: e.code, message: e.message };
  }
}

const refused = (message: string) => ({ code: "unauthenticated", message });

describe("JWT authentication (HS256, issuer and audience set)", () => {
  const cases: [string, () => Promise<string>, object][] = [
    ["a valid token gives the identity", () => makeJwt(BASE), { subject: "alice", projectId: "p1", roles: ["editor"], authMode: "jwt" }],
    ["an expired token is refused", () => makeJwt({ ...BASE, ttlSeconds: -60 }), refused("token expired")],
    ["a token not valid yet (nbf) is refused", () => makeJwt({ ...BASE, notBeforeSeconds: 60 }), refused("token not valid yet")],
    ["another issuer is refused", () => makeJwt({ ...BASE, issuer: "https://evil.test" }), refused("token iss claim not accepted")],
    ["a token without issuer is refused", () => makeJwt({ ...BASE, issuer: undefined }), refused("token has no iss claim")],
    ["another audience is refused", () => makeJwt({ ...BASE, audience: "other" }), refused("token aud claim not accepted")],
    ["a token signed with another secret is refused", () => makeJwt({ ...BASE, secret: `${SECRET}!` }), refused("token signature invalid")],
    [
      "a token without exp is refused",
      () =>
        new SignJWT({ project_id: "p1", roles: ["editor"] })
          .setProtectedHeader({ alg: "HS256" })
          .setSubject("alice")
          .setIssuer(BASE.issuer!)
          .setAudience("cronmesh")
          .sign(new TextEncoder().encode(SECRET)),
      refused("token has no exp claim"),
    ],
    [
      "a token without sub is refused",
      () =>
        new SignJWT({ project_id: "p1", roles: ["editor"] })
          .setProtectedHeader({ alg: "HS256" })
          .setIssuer(BASE.issuer!)
          .setAudience("cronmesh")
          .setExpirationTime(T0 / 1000 + 60)
          .sign(new TextEncoder().encode(SECRET)),
      refused("token has no sub claim"),
    ],
    ["a token without a project is refused", () => makeJwt({ ...BASE, project: "" }), refused("token names no project (claim project_id)")],
    ["project * is refused to an editor", () => makeJwt({ ...BASE, project: "*" }), refused("token project * needs the admin role (claim project_id)")],
    ["project * is an admin's right", () => makeJwt({ ...BASE, project: "*", roles: ["admin"] }), { projectId: "*", roles: ["admin"] }],
    [
      "an unsigned token (alg none) is refused",
      async () =>
        new UnsecuredJWT({ project_id: "p1", roles: ["admin"] })
          .setSubject("alice")
          .setExpirationTime(T0 / 1000 + 60)
          .encode(),
      refused("token algorithm not accepted"),
    ],
    ["something that is not a JWT is refused", async () => "not-a-jwt", refused("malformed token")],
  ];
  it.each(cases)("%s", async (_name, token, expected) => {
    expect(await outcome(HS, await token())).toMatchObject(expected);
  });

  it("asks for a bearer token when none is sent", async () => {
    const auth = createJwtAuthenticator(HS, () => T0);
    await expect(auth.authenticate(new Headers({ "x-api-key": "k" }))).rejects.toThrow("a bearer token is required");
  });

  it("checks validity against the given clock", async () => {
    const token = await makeJwt({ ...BASE, ttlSeconds: 60 });
    expect(await outcome(HS, token, T0 + 59_000)).toMatchObject({ subject: "alice" });
    expect(await outcome(HS, token, T0 + 61_000)).toEqual(refused("token expired"));
  });

  it("reads the project and roles from configured claims, dotted paths reaching into objects", async () => {
    const settings = { ...HS, issuer: undefined, audience: undefined, projectClaim: "tenant.id", rolesClaim: "realm_access.roles" };
    const token = await new SignJWT({ tenant: { id: "acme" }, realm_access: { roles: ["reader", "offline_access"] } })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("bob")
      .setExpirationTime(T0 / 1000 + 60)
      .sign(new TextEncoder().encode(SECRET));
    expect(await outcome(settings, token)).toEqual({ subject: "bob", projectId: "acme", roles: ["reader"], authMode: "jwt" });
  });
});

describe.each(["RS256", "ES256"] as const)("JWT authentication with a JWKS of %s keys", (alg) => {
  it("accepts tokens signed by a listed key and refuses others, HS256 with the public key as secret included", async () => {
    const { privateJwk, jwks } = await makeKeyPair(alg);
    const other = await makeKeyPair(alg);
    const settings: JwtSettings = { jwks, projectClaim: "project_id", rolesClaim: "roles" };
    const claims = { sub: "carol", project: "p2", roles: ["reader"], now: T0 };
    expect(await outcome(settings, await makeJwt({ ...claims, key: privateJwk }))).toEqual({
      subject: "carol",
      projectId: "p2",
      roles: ["reader"],
      authMode: "jwt",
    });
    expect(await outcome(settings, await makeJwt({ ...claims, key: other.privateJwk }))).toEqual(refused("no key matches the token"));
    // A listed kid with a foreign key: the signature check fails.
    expect(await outcome(settings, await makeJwt({ ...claims, key: { ...other.privateJwk, kid: privateJwk.kid } }))).toEqual(
      refused("token signature invalid"),
    );
    const confused = await makeJwt({ ...claims, secret: JSON.stringify(jwks.keys[0]) });
    expect(await outcome(settings, confused)).toEqual(refused("token algorithm not accepted"));
  });
});

describe("JWT authentication with a JWKS URL", () => {
  it("fetches the keys from the URL, and answers unavailable (not unauthenticated) when it cannot", async () => {
    const { privateJwk, jwks } = await makeKeyPair("ES256");
    const server = http.createServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(jwks)));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
    const token = await makeJwt({ key: privateJwk, sub: "dave", project: "p3", roles: ["admin"], now: T0 });
    try {
      expect(await outcome({ jwksUrl: url, projectClaim: "project_id", rolesClaim: "roles" }, token)).toEqual({
        subject: "dave",
        projectId: "p3",
        roles: ["admin"],
        authMode: "jwt",
      });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(await outcome({ jwksUrl: url, projectClaim: "project_id", rolesClaim: "roles" }, token)).toMatchObject({ code: "unavailable" });
  });
});
