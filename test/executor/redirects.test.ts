import { describe, expect, it } from "vitest";
import type { OutgoingRequest } from "../../src/executor/outgoing-request.js";
import { nextHop } from "../../src/executor/redirects.js";

const FROM = "http://api.example:8080/jobs/run?x=1";
const request = (o: Partial<OutgoingRequest> = {}): OutgoingRequest => ({
  url: FROM,
  method: "POST",
  headers: { "content-type": "application/json", authorization: "Bearer t", "x-key": "k", "x-cronmesh-attempt": "1" },
  body: '{"a":1}',
  timeoutMs: 1000,
  followRedirects: true,
  credentialHeaders: ["authorization", "x-key"],
  ...o,
});

describe("the next hop of a redirect", () => {
  // [case, method, status, Location, expected: url, method, body kept, header names]
  const cases: [string, string, number, string | undefined, string | undefined, string?, boolean?, string[]?][] = [
    [
      "a 301 after a POST continues as GET without a body",
      "POST",
      301,
      "/b",
      "http://api.example:8080/b",
      "GET",
      false,
      ["authorization", "x-key", "x-cronmesh-attempt"],
    ],
    [
      "a 302 after a POST continues as GET without a body",
      "POST",
      302,
      "/b",
      "http://api.example:8080/b",
      "GET",
      false,
      ["authorization", "x-key", "x-cronmesh-attempt"],
    ],
    ["a 302 after a PUT keeps the method and the body", "PUT", 302, "/b", "http://api.example:8080/b", "PUT", true],
    [
      "a 303 after a PUT continues as GET without a body",
      "PUT",
      303,
      "/b",
      "http://api.example:8080/b",
      "GET",
      false,
      ["authorization", "x-key", "x-cronmesh-attempt"],
    ],
    ["a 303 after a HEAD stays HEAD", "HEAD", 303, "/b", "http://api.example:8080/b", "HEAD", true],
    ["a 307 keeps POST and its body", "POST", 307, "/b", "http://api.example:8080/b", "POST", true],
    ["a 308 keeps POST and its body", "POST", 308, "/b", "http://api.example:8080/b", "POST", true],
    ["a relative Location resolves against the current URL", "GET", 307, "next?y=2", "http://api.example:8080/jobs/next?y=2", "GET", true],
    [
      "another host drops the credentials, keeps the rest",
      "POST",
      307,
      "http://other.example:8080/b",
      "http://other.example:8080/b",
      "POST",
      true,
      ["content-type", "x-cronmesh-attempt"],
    ],
    [
      "another port is another origin",
      "POST",
      307,
      "http://api.example:8081/b",
      "http://api.example:8081/b",
      "POST",
      true,
      ["content-type", "x-cronmesh-attempt"],
    ],
    [
      "another scheme is another origin",
      "POST",
      307,
      "https://api.example:8080/b",
      "https://api.example:8080/b",
      "POST",
      true,
      ["content-type", "x-cronmesh-attempt"],
    ],
    [
      "a 303 to another origin drops the body headers and the credentials",
      "POST",
      303,
      "http://other.example/b",
      "http://other.example/b",
      "GET",
      false,
      ["x-cronmesh-attempt"],
    ],
    ["300 Multiple Choices is an answer, not a move", "POST", 300, "/b", undefined],
    ["304 Not Modified is an answer", "GET", 304, "/b", undefined],
    ["a redirect without a Location is the answer", "POST", 302, undefined, undefined],
    ["a Location that is not http(s) is not followed", "POST", 302, "ftp://files.example/x", undefined],
    ["an unparseable Location is not followed", "POST", 302, "http://[bad", undefined],
    ["a 200 is not a redirect", "POST", 200, "/b", undefined],
  ];
  it.each(cases)("%s", (_name, method, status, location, url, nextMethod, bodyKept, headerNames) => {
    const req = request({ method });
    const next = nextHop(req, status, location);
    if (url === undefined) {
      expect(next).toBeUndefined();
      return;
    }
    expect(next).toMatchObject({ url, method: nextMethod, timeoutMs: 1000, followRedirects: true });
    expect(next!.body).toBe(bodyKept ? req.body : undefined);
    expect(Object.keys(next!.headers).sort()).toEqual((headerNames ?? Object.keys(req.headers)).sort());
  });

  it("does not send dropped credentials again when a later hop returns to the first origin", () => {
    const away = nextHop(request(), 307, "http://other.example/b")!;
    const back = nextHop(away, 307, FROM)!;
    expect(back.headers.authorization).toBeUndefined();
    expect(back.headers["x-key"]).toBeUndefined();
  });

  it("drops a Host header set on the target when the origin changes", () => {
    const next = nextHop(request({ headers: { Host: "api.example" } }), 307, "http://other.example/b")!;
    expect(next.headers).toEqual({});
  });
});
