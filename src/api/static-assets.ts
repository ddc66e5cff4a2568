import { createReadStream, type Stats } from "node:fs";
import { stat } from "node:fs/promises";
import type { Req, Res } from "./node-call.js";
import { extname, join, normalize, sep } from "node:path";

/** Where the web console is mounted. */
export const CONSOLE_MOUNT = "/ui/";

/** Vite writes only content-hashed file names under this folder of the build. */
const HASHED_DIR = "assets/";
/** A hashed asset never changes under its name: a year, the longest lifetime caches honour. */
const IMMUTABLE = "public, max-age=31536000, immutable";
/** index.html names the current hashed assets, so it is revalidated on every load. */
const REVALIDATE = "no-cache";

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".webp": "image/webp",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
  ".webmanifest": "application/manifest+json",
};

/**
 * The page may load its own scripts and styles and talk to its own origin only: the console has
 * no inline script and no third-party resource.
 */
const CONTENT_SECURITY_POLICY =
  "default-src 'self'; img-src 'self' data:; style-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

/** What a request path means for the console. */
export type AssetRoute = { kind: "pass" } | { kind: "redirect"; location: string } | { kind: "file"; relative: string } | { kind: "not_found" };

/**
 * Maps a URL path (without query) to the console's answer. `/` and the mount without its slash
 * redirect to the mount; under the mount, a path naming a file inside the build is that file,
 * and anything that could leave the build folder (`..`, encoded separators, NUL, dotfiles) is
 * not found. Every other path is not the console's (`pass`).
 */
export function routeAsset(path: string, mount = CONSOLE_MOUNT): AssetRoute {
  if (path === "/" || path === mount.slice(0, -1)) return { kind: "redirect", location: mount };
  if (!path.startsWith(mount)) return { kind: "pass" };
  let relative: string;
  try {
    relative = decodeURIComponent(path.slice(mount.length));
  } catch {
    return { kind: "not_found" };
  }
  if (relative === "") return { kind: "file", relative: "index.html" };
  const unsafe = relative.includes("\0") || relative.includes("\\") || relative.split("/").some((seg) => seg === "" || seg.startsWith("."));
  return unsafe ? { kind: "not_found" } : { kind: "file", relative };
}

/** The Content-Type of a built file, by extension; unknown kinds are opaque bytes. */
export function contentTypeOf(relative: string): string {
  return CONTENT_TYPES[extname(relative).toLowerCase()] ?? "application/octet-stream";
}

/** The Cache-Control of a built file: hashed assets forever, everything else revalidated. */
export function cacheControlOf(relative: string): string {
  return relative.startsWith(HASHED_DIR) ? IMMUTABLE : REVALIDATE;
}

/** The file's absolute path when it lies inside root, else undefined (a second guard after {@link routeAsset}). */
function insideRoot(root: string, relative: string): string | undefined {
  const base = normalize(root + sep);
  const file = normalize(join(base, relative));
  return file.startsWith(base) ? file : undefined;
}

/**
 * Serves the built web console under {@link CONSOLE_MOUNT} from `root`, and redirects `/` to it.
 * Returns false for paths that are not the console's, so the caller can route them; answers
 * every console path itself (404 for a missing file, 405 for methods other than GET and HEAD).
 */
export function createStaticAssets(root: string): (req: Req, res: Res) => boolean {
  return (req, res) => {
    const route = routeAsset((req.url ?? "/").split("?")[0]!);
    if (route.kind === "pass") return false;
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" });
      res.end("method not allowed\n");
    } else if (route.kind === "redirect") {
      res.writeHead(302, { location: route.location, "cache-control": REVALIDATE });
      res.end();
    } else if (route.kind === "not_found") {
      notFound(res);
    } else {
      void serveFile(root, route.relative, req, res);
    }
    return true;
  };
}

async function serveFile(root: string, relative: string, req: Req, res: Res): Promise<void> {
  const file = insideRoot(root, relative);
  const info = file ? await stat(file).catch(() => undefined) : undefined;
  if (!file || !info?.isFile()) {
    notFound(res, relative === "index.html" ? `the web console is not built in ${root}: run npm run build\n` : undefined);
    return;
  }
  const etag = etagOf(info);
  const headers: Record<string, string | number> = {
    "content-type": contentTypeOf(relative),
    "cache-control": cacheControlOf(relative),
    etag,
    "last-modified": info.mtime.toUTCString(),
    "x-content-type-options": "nosniff",
  };
  if (relative === "index.html") headers["content-security-policy"] = CONTENT_SECURITY_POLICY;
  if (req.headers["if-none-match"] === etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(200, { ...headers, "content-length": info.size });
  if (req.method === "HEAD") {
    res.end();
    return;
  }
  createReadStream(file)
    .on("error", () => res.destroy())
    .pipe(res as NodeJS.WritableStream);
}

/** A validator that changes whenever the file is rebuilt. */
function etagOf(info: Stats): string {
  return `W/"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
}

function notFound(res: Res, message = "not found\n"): void {
  res.writeHead(404, { "content-type": "text/plain; charset=utf-8", "cache-control": REVALIDATE });
  res.end(message);
}
