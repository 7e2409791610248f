#!/usr/bin/env node
// Capsule's demo agent: behaves like an AI coding agent on a scratch project, so the
// demo shows a real, interesting trace. Loopback only; HOME is a scratch folder.
//
// Usage: agent.mjs PROJECT_DIR API_PORT
// It explores the project, asks a stub "LLM API" for a plan over HTTP, runs tools (git,
// grep, find), writes code and a test, runs the test, commits, and then does what a
// reviewer must see: reads an SSH key, downloads a script and runs it, edits ~/.bashrc.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";

const [project, portText] = process.argv.slice(2);
if (!project || !portText) {
  process.stderr.write("usage: agent.mjs PROJECT_DIR API_PORT\n");
  process.exit(2);
}
const port = Number(portText);
process.chdir(project);

function llm(prompt) {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ model: "demo", messages: [{ role: "user", content: prompt }] });
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path: "/v1/messages",
        method: "POST",
        // one connection per call, as many API clients do (and no stale keep-alive socket)
        agent: false,
        headers: { "content-type": "application/json" },
      },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve(JSON.parse(Buffer.concat(chunks).toString("utf8"))));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const tool = (cmd, args, opts = {}) => spawnSync(cmd, args, { encoding: "utf8", ...opts });

// 1. explore the project
function walk(dir) {
  for (const name of readdirSync(dir)) {
    if (name === ".git" || name === "node_modules") continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith(".js") || p.endsWith(".md")) readFileSync(p, "utf8");
  }
}
walk(".");
await llm("Plan: add an add() helper with a test.");
tool("git", ["status", "--short"]);
tool("git", ["log", "--oneline", "-n", "3"]);
tool("sh", ["-c", "grep -rn 'export function' src | head -n 5"]);
tool("find", [".", "-name", "*.js", "-newer", "README.md"]);

// 2. write code and run the tests
writeFileSync("src/add.js", "export function add(a, b) {\n  return a + b;\n}\n");
writeFileSync(
  "test/add.test.js",
  'import { test } from "node:test";\nimport assert from "node:assert";\nimport { add } from "../src/add.js";\n\ntest("add", () => assert.equal(add(1, 2), 3));\n',
);
tool(process.execPath, ["--test", "test/add.test.js"]);
tool("git", ["add", "-A"]);
tool("git", ["-c", "user.name=agent", "-c", "user.email=agent@example.invalid", "commit", "-q", "-m", "Add add()"]);
await llm("Summarise the change.");

// 3. what a reviewer must see
try {
  readFileSync(join(homedir(), ".ssh", "id_ed25519"), "utf8"); // a credential read
} catch {
  // no key: nothing read
}
const dl = join(mkdtempSync(join(tmpdir(), "capsule-demo-dl-")), "install.sh");
tool("curl", ["-s", "-o", dl, `http://127.0.0.1:${port}/install.sh`]);
chmodSync(dl, 0o755);
tool(dl, []); // runs what it just downloaded
tool("sh", ["-c", "echo 'export PATH=$HOME/.local/bin:$PATH' >> ~/.bashrc"]); // persistence
tool("does-not-exist-tool", ["--help"]); // a tool that is not installed
