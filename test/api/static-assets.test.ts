import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cacheControlOf, contentTypeOf, routeAsset, type AssetRoute } from "../../src/api/static-assets.js";
import { startTestNode, type StoreKind, type TestNode } from "../harness/node.js";

/** A GET whose path goes on the wire exactly as given. */
function rawGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path, method: "GET" }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("console asset routes", () => {
  const cases: [string, AssetRoute][] = [
    ["/", { kind: "redirect", location: "/ui/" }],
    ["/ui", { kind: "redirect", location: "/ui/" }],
    ["/ui/", { kind: "file", relative: "index.html" }],
    ["/ui/assets/index-Ab12Cd34.js", { kind: "file", relative: "assets/index-Ab12Cd34.js" }],
    ["/ui/my%20file.txt", { kind: "file", relative: "my file.txt" }],
    ["/ui/../package.json", { kind: "not_found" }],
    ["/ui/%2e%2e/package.json", { kind: "not_found" }],
    ["/ui/assets/..%2f..%2fpackage.json", { kind: "not_found" }],
    ["/ui/..%5c..%5cpackage.json", { kind: "not_found" }],
    ["/ui/index.html%00.js", { kind: "not_found" }],
    ["/ui/.env", { kind: "not_found" }],
    ["/ui/assets//x.js", { kind: "not_found" }],
    ["/ui/assets/", { kind: "not_found" }],
    ["/ui/%E0%A4%A", { kind: "not_found" }],
    ["/uix", { kind: "pass" }],
    ["/api/v1/cron/jobs", { kind: "pass" }],
    ["/cronmesh.v1.CronService/ListJobs", { kind: "pass" }],
    ["/health", { kind: "pass" }],
  ];
  it.each(cases)("%s → %j", (path, route) => expect(routeAsset(path)).toEqual(route));

  it.each([
    ["index.html", "text/html; charset=utf-8", "no-cache"],
    ["assets/index-Ab12Cd34.js", "text/javascript; charset=utf-8", "public, max-age=31536000, immutable"],
    ["assets/index-Ab12Cd34.css", "text/css; charset=utf-8", "public, max-age=31536000, immutable"],
    ["assets/index-Ab12Cd34.js.map", "application/json; charset=utf-8", "public, max-age=31536000, immutable"],
    ["favicon.SVG", "image/svg+xml", "no-cache"],
    ["blob.bin", "application/octet-stream", "no-cache"],
  ])("%s is served as %s with cache-control %s", (file, type, cache) => {
    expect(contentTypeOf(file)).toBe(type);
    expect(cacheControlOf(file)).toBe(cache);
  });
});

describe.each<StoreKind>(["sqlite", "mongo"])("the console served by a node on %s", (kind) => {
  const dir = mkdtempSync(join(tmpdir(), "cronmesh-console-"));
  let t: TestNode;
  beforeAll(async () => {
    mkdirSync(join(dir, "build", "assets"), { recursive: true });
    writeFileSync(join(dir, "build", "index.html"), "<!doctype html><title>cronmesh</title>");
    writeFileSync(join(dir, "build", "assets", "index-Ab12Cd34.js"), "console.log('console');");
    writeFileSync(join(dir, "secret.txt"), "outside the build");
    t = await startTestNode(kind, { env: { CONSOLE_DIR: join(dir, "build") } });
  });
  afterAll(async () => {
    await t?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const get = (path: string, init: RequestInit = {}) => fetch(`${t.baseUrl}${path}`, { redirect: "manual", ...init });

  it("redirects / to /ui/ and serves index.html there, revalidated on every load", async () => {
    const root = await get("/");
    expect(root.status).toBe(302);
    expect(root.headers.get("location")).toBe("/ui/");
    const index = await get("/ui/");
    expect(index.status).toBe(200);
    expect(index.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(index.headers.get("cache-control")).toBe("no-cache");
    expect(index.headers.get("content-security-policy")).toContain("default-src 'self'");
    expect(await index.text()).toContain("<title>cronmesh</title>");
    const again = await get("/ui/", { headers: { "if-none-match": index.headers.get("etag")! } });
    expect(again.status).toBe(304);
  });

  it("serves hashed assets with long-lived immutable caching, and HEAD without a body", async () => {
    const js = await get("/ui/assets/index-Ab12Cd34.js");
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(js.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(await js.text()).toBe("console.log('console');");
    const head = await get("/ui/assets/index-Ab12Cd34.js", { method: "HEAD" });
    expect(head.headers.get("content-length")).toBe("23");
    expect(await head.text()).toBe("");
  });

  it("answers 404 for missing files and paths that leave the build, and 405 for writes", async () => {
    // Sent byte for byte (fetch would resolve the dots before sending).
    for (const path of ["/ui/assets/missing.js", "/ui/../secret.txt", "/ui/%2e%2e/secret.txt", "/ui/..%2fsecret.txt", "/ui/assets/..%5c..%5csecret.txt"]) {
      const res = await rawGet(t.port, path);
      expect(res.status, path).toBe(404);
      expect(res.body, path).not.toContain("outside the build");
    }
    expect((await get("/ui/", { method: "POST", body: "x" })).status).toBe(405);
  });

  it("leaves the API and health routes to the server", async () => {
    expect((await get("/health")).status).toBe(200);
    expect((await get("/api/v1/cron/jobs")).status).toBe(200);
  });

  it("serves the console over HTTP/2 too", async () => {
    const session = http2.connect(t.baseUrl);
    try {
      const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = session.request({ ":path": "/ui/assets/index-Ab12Cd34.js" });
        let status = 0;
        let body = "";
        req.on("response", (h) => (status = Number(h[":status"])));
        req.setEncoding("utf8");
        req.on("data", (c: string) => (body += c));
        req.on("end", () => resolve({ status, body }));
        req.on("error", reject);
        req.end();
      });
      expect(status).toBe(200);
      expect(body).toBe("console.log('console');");
    } finally {
      session.close();
    }
  });
});

describe("a node whose console is not built", () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode("sqlite", { env: { CONSOLE_DIR: join(tmpdir(), "cronmesh-no-console-here") } });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("says how to build it", async () => {
    const res = await fetch(`${t.baseUrl}/ui/`);
    expect(res.status).toBe(404);
    expect(await res.text()).toContain("run npm run build");
  });
});
