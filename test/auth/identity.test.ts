import { describe, expect, it } from "vitest";
import { authorize, projectProblem, rolesOf, type Identity, type Role } from "../../src/auth/identity.js";
import { presentedCredentials } from "../../src/auth/credentials.js";

const who = (roles: Role[]): Identity => ({ subject: "u", projectId: "p1", roles, authMode: "jwt" });

describe("authorize", () => {
  const cases: [string, Role[], "read" | "write", string | undefined][] = [
    ["a reader reads", ["reader"], "read", undefined],
    ["a reader may not write", ["reader"], "write", "permission_denied"],
    ["an editor writes", ["editor"], "write", undefined],
    ["an admin writes", ["admin"], "write", undefined],
    ["a reader who is also an editor writes", ["reader", "editor"], "write", undefined],
    ["no role may not even read", [], "read", "permission_denied"],
  ];
  it.each(cases)("%s", (_name, roles, access, code) => {
    expect(authorize(who(roles), access)?.code).toBe(code);
  });
});

describe("rolesOf (the roles claim)", () => {
  const cases: [string, unknown, Role[]][] = [
    ["an array of names", ["reader", "editor"], ["reader", "editor"]],
    ["a string separated by spaces or commas", "reader editor,admin", ["reader", "editor", "admin"]],
    ["unknown names are dropped", ["reader", "superuser", 7], ["reader"]],
    ["duplicates collapse", ["admin", "admin"], ["admin"]],
    ["a missing claim is no role", undefined, []],
    ["an object is no role", { admin: true }, []],
  ];
  it.each(cases)("%s", (_name, claim, roles) => expect(rolesOf(claim)).toEqual(roles));
});

describe("projectProblem", () => {
  it.each<[string, string, Role[], boolean]>([
    ["a project is fine for any role", "p1", ["reader"], false],
    ["* is for admins", "*", ["admin"], false],
    ["* is refused to an editor", "*", ["editor"], true],
    ["no project is refused", "", ["admin"], true],
  ])("%s", (_name, project, roles, refused) => expect(projectProblem(project, roles) !== undefined).toBe(refused));
});

describe("presentedCredentials", () => {
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  const cases: [string, Record<string, string>, object][] = [
    ["a bearer token", { authorization: "Bearer abc.def" }, { bearer: "abc.def" }],
    ["schemes are case-insensitive", { authorization: "bEaReR abc" }, { bearer: "abc" }],
    ["an API key header", { "x-api-key": "k1" }, { apiKey: "k1" }],
    ["an ApiKey authorization", { authorization: "ApiKey k2" }, { apiKey: "k2" }],
    ["x-api-key wins over Authorization: ApiKey", { "x-api-key": "k1", authorization: "ApiKey k2" }, { apiKey: "k1" }],
    ["basic credentials, the password may hold colons", { authorization: `Basic ${b64("bob:pa:ss")}` }, { basic: { username: "bob", password: "pa:ss" } }],
    ["basic without a colon is nothing", { authorization: `Basic ${b64("bob")}` }, {}],
    ["basic that is not base64 is nothing", { authorization: "Basic ***" }, {}],
    ["a scheme without a value is nothing", { authorization: "Bearer" }, {}],
    ["an unknown scheme is nothing", { authorization: "Digest abc" }, {}],
  ];
  it.each(cases)("%s", (_name, headers, expected) => expect(presentedCredentials(new Headers(headers))).toEqual(expected));
});
