import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  closeSync,
  constants,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Page } from "playwright-core";
import type { EnhancedEvent, ProcessNode, RiskFinding } from "../../src/core/events.js";
import { sessionDurationUs } from "../../src/core/span.js";
import { startViewServer, type ViewServer } from "../../src/view/server.js";
import { duration } from "../../web/src/format.js";
import { capsuleAsync, freshHome, jsonl, metadata, tree } from "../pipeline/helpers.js";
import { buildPage, demoSession, openBrowser } from "./helpers.js";

const skip = existsSync("/usr/bin/chromium") ? false : "no /usr/bin/chromium (scripts/system-deps.sh installs it)";

// Code run in the page is type-checked without DOM types: the few shapes it uses.
interface El {
  textContent: string | null;
  dataset: Record<string, string | undefined>;
  querySelector(s: string): El | null;
}
interface Canvas {
  width: number;
  height: number;
  getContext(kind: "2d"): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } };
}

// The CSP forbids eval in the page, so waits poll from here (playwright's string predicates would be eval'd).
async function until(page: Page, selector: string, ok: (n: number) => boolean): Promise<void> {
  for (let i = 0; ; i++) {
    const n = await page.locator(selector).count();
    if (ok(n)) return;
    if (i > 600) throw new Error(`${selector}: ${n} elements, still not as expected`);
    await page.waitForTimeout(100);
  }
}

async function untilText(page: Page, selector: string, pattern: string): Promise<void> {
  const re = new RegExp(pattern);
  for (let i = 0; ; i++) {
    const texts = await page.locator(selector).allTextContents();
    if (texts.some((t) => re.test(t))) return;
    if (i > 600) throw new Error(`${selector}: none of ${JSON.stringify(texts)} matches ${pattern}`);
    await page.waitForTimeout(100);
  }
}

/** The tree rows drawn now: id, the row's text, its label chip. */
async function rows(page: Page): Promise<Array<{ id: string; name: string; text: string; label: string }>> {
  return page.$$eval("[data-testid=tree-row]", (els) =>
    (els as unknown as El[]).map((e) => ({
      id: e.dataset.id ?? "",
      name: e.querySelector(".name")?.textContent ?? "",
      text: e.textContent ?? "",
      label: e.querySelector(".chip.label")?.textContent ?? "",
    })),
  );
}

describe("capsule view in Chromium: the demo session", { skip }, () => {
  let dir: string;
  let server: ViewServer;
  let browser: Awaited<ReturnType<typeof openBrowser>>;
  let page: Page;
  let nodes: ProcessNode[];

  before(async () => {
    buildPage();
    dir = demoSession();
    nodes = tree(dir).nodes.filter((n) => n.kind === "process");
    server = await startViewServer(dir);
    browser = await openBrowser();
    page = browser.page;
    await page.goto(server.url);
    await page.waitForSelector("[data-testid=tree-row]");
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test("the tree shows every process of the session with its label", async () => {
    const shown = await rows(page);
    assert.equal(shown.length, nodes.length);
    const byId = new Map(shown.map((r) => [r.id, r]));
    for (const n of nodes) {
      const r = byId.get(n.id);
      assert.ok(r, `process ${n.pid} (${n.argv.join(" ")}) has a row`);
      assert.equal(r.label, n.label ?? "Unknown", `label of ${n.argv.join(" ")}`);
      if (n.argv.length > 1) assert.ok(r.text.includes(n.argv[1]!.slice(0, 8)), `${r.text} shows ${n.argv[1]}`);
    }
    const root = shown.find((r) => r.text.includes("agent.mjs"));
    assert.equal(root?.label, "Agent");
    assert.ok(shown.some((r) => r.text.includes("git status") && r.label === "Tool" && r.text.includes("repo")));
    assert.ok(shown.some((r) => r.text.includes("curl") && r.text.includes("network")));
  });

  test("search filters the tree to the matches and their ancestors; clearing it brings all back", async () => {
    await page.fill("[data-testid=search]", "curl");
    await until(page, "[data-testid=tree-row]", (n) => n < 10);
    const shown = await rows(page);
    const byId = new Map(nodes.map((n) => [n.id, n]));
    const matching = nodes.filter((n) => n.argv.join(" ").includes("curl"));
    assert.ok(matching.length >= 1);
    const keep = new Set<string>();
    for (const m of matching)
      for (let p: ProcessNode | undefined = m; p; p = byId.get(p.parent_id ?? "")) keep.add(p.id);
    assert.deepEqual(new Set(shown.map((r) => r.id)), keep);
    assert.ok(!shown.some((r) => r.text.includes("git ")));
    assert.match(
      (await page.textContent("[data-testid=row-count]")) ?? "",
      new RegExp(`${keep.size} of ${nodes.length}`),
    );
    await page.fill("[data-testid=search]", "");
    await until(page, "[data-testid=tree-row]", (n) => n === nodes.length);
  });

  test("a finding opens its evidence chain: actions, events and their raw lines", async () => {
    const risks = jsonl<RiskFinding>(dir, "risks");
    const dl = risks.find((r) => r.rule === "download-exec");
    assert.ok(dl, "the demo's download-exec finding");
    const enriched = new Map(jsonl<EnhancedEvent>(dir, "enriched").map((e) => [e.seq, e]));
    await page.click("[data-testid=finding]:has-text('download-exec')");
    await page.waitForSelector("[data-testid=finding-detail]");
    await until(page, "[data-testid=finding-detail] [data-testid=raw-line]", (n) => n >= dl.event_seqs.length);
    const raw = await page.$$eval("[data-testid=finding-detail] [data-testid=raw-line]", (els) =>
      els.map((e) => e.textContent ?? ""),
    );
    for (const s of dl.event_seqs) assert.ok(raw.includes(enriched.get(s)!.raw_line), `raw line of event ${s} shown`);
    const actions = await page.$$eval("[data-testid=finding-detail] [data-testid=action] .resource", (els) =>
      els.map((e) => e.textContent ?? ""),
    );
    assert.equal(actions.length, dl.action_seqs.length);
    assert.ok(
      actions.every((a) => a.endsWith("install.sh")),
      actions.join(", "),
    );
    // an event opens to its whole record
    await page.click("[data-testid=finding-detail] [data-testid=event] .event-head >> nth=0");
    const record = await page.textContent("[data-testid=finding-detail] pre.record");
    assert.match(record ?? "", new RegExp(`"seq": ${dl.event_seqs[0]}`));
  });

  test("the timeline draws every row, zooms, and a click on a row shows that process", async () => {
    const inked = () =>
      page.$eval("[data-testid=timeline]", (c) => {
        const canvas = c as unknown as Canvas;
        const d = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
        let n = 0;
        let hash = 0;
        for (let i = 3; i < d.length; i += 4)
          if (d[i]! > 0) {
            n++;
            hash = (hash * 31 + i + d[i - 1]!) | 0;
          }
        return { n, hash };
      });
    const before = await inked();
    assert.ok(before.n > 5000, `the timeline has ink (${before.n} pixels)`);
    await page.click("[data-testid=zoom-in]");
    await page.waitForTimeout(200);
    const zoomed = await inked();
    assert.notEqual(zoomed.hash, before.hash, "zooming redraws");
    const curl = (await rows(page)).findIndex((r) => r.text.includes("curl"));
    const box = (await page.locator("[data-testid=timeline]").boundingBox())!;
    await page.mouse.click(box.x + 2, box.y + curl * 24 + 12);
    await page.waitForSelector("[data-testid=process-detail]");
    assert.match((await page.textContent("[data-testid=process-detail] h2")) ?? "", /curl/);
  });

  test("the CSP holds in the browser: an inline script does not run and is reported", async () => {
    const result = await page.evaluate(`new Promise((resolve) => {
      let violated = null;
      document.addEventListener("securitypolicyviolation", (e) => { violated = e.violatedDirective; });
      const s = document.createElement("script");
      s.textContent = "window.inlineRan = true";
      document.head.appendChild(s);
      setTimeout(() => resolve({ ran: window.inlineRan === true, violated }), 200);
    })`);
    assert.deepEqual(result, { ran: false, violated: "script-src-elem" });
  });

  test("a process opens to every one of its events with its raw line, actions or not", async () => {
    const curl = nodes.find((n) => n.argv[0]?.endsWith("curl"))!;
    const mine = jsonl<EnhancedEvent>(dir, "enriched").filter((e) => e.pid === curl.pid);
    await page.click(`[data-testid=tree-row][data-id="${curl.id}"] .name`);
    await page.click("[data-testid=process-detail] [data-testid=all-events]");
    const want = Math.min(mine.length, 300);
    await until(page, "[data-testid=process-detail] .events [data-testid=raw-line]", (n) => n >= want);
    const raw = await page.locator("[data-testid=process-detail] .events [data-testid=raw-line]").allTextContents();
    assert.deepEqual(
      raw.slice(0, want),
      mine.slice(0, want).map((e) => e.raw_line),
    );
  });

  test("a subtree collapses and expands", async () => {
    const parent = nodes.find((n) => n.argv[0]?.endsWith("sh") && nodes.some((c) => c.parent_id === n.id))!;
    const kids = nodes.filter((c) => c.parent_id === parent.id);
    const caret = page.locator(`[data-testid=tree-row][data-id="${parent.id}"] .caret`);
    await caret.click();
    await until(page, "[data-testid=tree-row]", (n) => n === nodes.length - kids.length);
    for (const k of kids) assert.equal(await page.locator(`[data-testid=tree-row][data-id="${k.id}"]`).count(), 0);
    await caret.click();
    await until(page, "[data-testid=tree-row]", (n) => n === nodes.length);
  });

  test("the header gives the session's duration as the report does: its processes' span, not capsule's own wall time", async () => {
    const want = sessionDurationUs(tree(dir).nodes, metadata(dir));
    assert.ok(want !== null);
    const md = metadata(dir);
    const wall = (Date.parse(md.ended_at!) - Date.parse(md.started_at)) * 1000;
    assert.ok(wall > want, "a run's wall time adds capsule's start-up and seal");
    assert.equal(await page.textContent("[data-testid=duration]"), duration(want));
  });

  test("the record's verify status is shown", async () => {
    await page.waitForSelector("[data-testid=verify]");
    assert.match((await page.textContent("[data-testid=verify]")) ?? "", /record intact/);
  });
});

describe("capsule view in Chromium: a session still being written", { skip }, () => {
  test("the page follows it without reloading and shows it sealed at the end", async () => {
    buildPage();
    const home = freshHome();
    const fifo = join(home, "go");
    spawnSync("mkfifo", [fifo]);
    const script = `ls / >/dev/null; read x < ${fifo}; cat /etc/hostname >/dev/null; uname -a >/dev/null`;
    const run = capsuleAsync(["run", "--tracer", "strace", "--level", "process", "--", "sh", "-c", script], home);
    const exited = new Promise<number | null>((resolve) => run.on("exit", (c) => resolve(c)));
    let stderr = "";
    run.stderr.on("data", (b: Buffer) => {
      stderr += b.toString();
    });
    const runs = join(home, "runs");
    let dir = "";
    for (let i = 0; i < 1200 && dir === ""; i++) {
      const name = existsSync(runs) ? readdirSync(runs)[0] : undefined;
      if (name && existsSync(join(runs, name, "tree.json"))) dir = join(runs, name);
      else await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(dir, `a session folder appeared (${stderr})`);
    const server = await startViewServer(dir);
    const browser = await openBrowser();
    try {
      const { page } = browser;
      await page.goto(server.url);
      await page.waitForSelector("[data-testid=live]");
      await untilText(page, "[data-testid=tree-row] .name", "^ls /");
      await page.evaluate("window.mark = 42");
      assert.ok(!(await rows(page)).some((r) => r.name.startsWith("uname")), "uname has not run yet");
      writeFileSync(fifo, "go\n"); // the traced shell goes on
      await untilText(page, "[data-testid=tree-row] .name", "^uname -a");
      await page.waitForSelector("body[data-feed=done]");
      assert.equal(await page.evaluate("window.mark"), 42, "no reload");
      assert.equal(await page.$("[data-testid=live]"), null);
      await untilText(page, "[data-testid=verify]", "record intact");
      assert.equal(await exited, 0, stderr);
      const shown = (await rows(page)).map((r) => r.text);
      for (const n of tree(dir).nodes.filter((x) => x.kind === "process" && x.argv.length > 0))
        assert.ok(
          shown.some((t) => t.includes(n.argv.slice(1).join(" ").slice(0, 10))),
          n.argv.join(" "),
        );
      assert.ok(readFileSync(join(dir, "metadata.json"), "utf8").includes('"sealed_at"'));
    } finally {
      await browser.close();
      await server.close();
      // a failed test must not leave the traced shell waiting on its fifo (nor its pipes open)
      try {
        const fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
        writeSync(fd, "go\n");
        closeSync(fd);
      } catch {
        // nobody reads it any more
      }
      if (run.exitCode === null && run.pid) process.kill(-run.pid, "SIGKILL");
    }
  });
});
