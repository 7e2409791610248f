/**
 * Test helpers for capsule view: real sessions made by the CLI, the page built by the
 * project's own build script, and Debian's Chromium driven by playwright-core (which
 * never downloads a browser). The flags keep Chromium off the network it cannot reach.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { capsule, freshHome, onlySession, ROOT } from "../pipeline/helpers.js";

export const CHROMIUM = "/usr/bin/chromium";
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

let built = false;
/** `node scripts/build-view.mjs`, once per test file: the server serves dist/view/assets. */
export function buildPage(): void {
  if (built) return;
  const r = spawnSync(process.execPath, [join(ROOT, "scripts/build-view.mjs")], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`build-view failed: ${r.stderr}`);
  built = true;
}

/** A fresh browser with an empty profile; close() removes the profile too. */
export async function openBrowser(): Promise<{ page: Page; close: () => Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), "capsule-view-chromium-"));
  const ctx: BrowserContext = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1600, height: 900 },
    timeout: 120_000,
  });
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  page.setDefaultTimeout(60_000);
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  return {
    page,
    close: async () => {
      await ctx.close();
      rmSync(profile, { recursive: true, force: true });
      if (errors.length > 0) throw new Error(`errors on the page: ${errors.join("; ")}`);
    },
  };
}

/** The demo agent traced by `capsule demo` (strace) into a fresh CAPSULE_HOME: its session folder. */
export function demoSession(): string {
  const home = freshHome();
  const r = capsule(["demo", "--tracer", "strace"], home);
  if (r.status !== 0) throw new Error(`capsule demo failed: ${r.stderr}`);
  return onlySession(home);
}

/** A corpus trace imported by `capsule import` into a fresh CAPSULE_HOME: its session folder. */
export function importedSession(trace = "agent.strace"): string {
  const home = freshHome();
  const r = capsule(["import", join(ROOT, "test/fixtures/corpus", trace)], home);
  if (r.status !== 0) throw new Error(`capsule import failed: ${r.stderr}`);
  return onlySession(home);
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request sent exactly as given (the path is not normalised, the Host header is ours to set). */
export function get(port: number, path: string, opts: { host?: string | null; method?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (opts.host !== null) headers.host = opts.host ?? `127.0.0.1:${port}`;
    const req = request(
      { host: "127.0.0.1", port, path, method: opts.method ?? "GET", headers, setHost: false },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          body += c;
          if (body.length > 1 << 20) res.destroy();
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}
