import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** Debian's Chromium; test/harness/ensure-chromium.mjs installs it (npm test runs that first). */
export const CHROMIUM = process.env.CRONMESH_CHROMIUM || "/usr/bin/chromium";
/** The flags that run Chromium headless in a container, without network chatter of its own. */
const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];
/** Where the service serves the console from (the default CONSOLE_DIR). */
export const CONSOLE_DIR = join(root, "dist", "console");

/** Newest modification time under a folder, in ms. */
function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) latest = Math.max(latest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return latest;
}

/**
 * Builds the console (vite build into dist/console) unless the build is newer than every source
 * file of the page and of gen/; returns whether it built. Throws with Vite's output on failure.
 */
export function ensureConsoleBuilt(): boolean {
  const index = join(CONSOLE_DIR, "index.html");
  const built = existsSync(index) ? statSync(index).mtimeMs : 0;
  if (built > Math.max(newest(join(root, "src", "console")), newest(join(root, "gen")))) return false;
  const result = spawnSync(process.execPath, ["node_modules/vite/bin/vite.js", "build", "--config", "src/console/vite.config.ts", "--logLevel", "warn"], {
    cwd: root,
    encoding: "utf8",
    timeout: 120_000,
  });
  if (result.status !== 0) throw new Error(`building the web console failed (npm run build:console):\n${result.stdout}\n${result.stderr}`);
  return true;
}

/** Launches headless Chromium, or fails saying how to install it. Never downloads a browser. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM}: run \`node test/harness/ensure-chromium.mjs\` (npm test does) or set CRONMESH_CHROMIUM`);
  }
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
}

/** An empty folder for a test's screenshots and failure reports, under test-results/ (git-ignored). */
export function outputFolder(...parts: string[]): string {
  const dir = join(root, "test-results", ...parts);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** What a page printed: console errors and uncaught exceptions, for failure reports. */
export interface PageLog {
  lines: string[];
  /** Console errors and uncaught exceptions only. */
  errors: string[];
}

/** Starts recording a page's console and uncaught errors. */
export function recordPage(page: Page): PageLog {
  const log: PageLog = { lines: [], errors: [] };
  page.on("console", (m) => {
    const line = `[${m.type()}] ${m.text()}`;
    log.lines.push(line);
    // A call answered with an error status (a 400 for bad input) is logged by Chromium as a failed
    // resource load: that is the page working, not a page error.
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) log.errors.push(line);
  });
  page.on("pageerror", (e) => {
    const line = `[uncaught] ${e.message}`;
    log.lines.push(line);
    log.errors.push(line);
  });
  return log;
}

/**
 * Runs one step of a browser scenario. When it fails, the error says which step, and a screenshot,
 * the page's URL and its console are saved next to the test's screenshots, their paths in the message.
 */
export async function step<T>(page: Page, log: PageLog, dir: string, name: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    const slug = name.replace(/[^a-z0-9]+/gi, "-").toLowerCase();
    const shot = join(dir, `FAILED-${slug}.png`);
    const report = join(dir, `FAILED-${slug}.txt`);
    await page.screenshot({ path: shot, fullPage: true }).catch(() => undefined);
    writeFileSync(
      report,
      [`step: ${name}`, `url: ${page.url()}`, `error: ${(err as Error).stack ?? String(err)}`, "", "browser console:", ...log.lines].join("\n"),
    );
    throw new Error(
      `browser step "${name}" failed: ${(err as Error).message}\n  screenshot: ${shot}\n  page URL: ${page.url()}\n  console errors: ${log.errors.slice(-5).join(" | ") || "none"}\n  full report: ${report}`,
      { cause: err },
    );
  }
}
