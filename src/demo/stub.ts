import { createServer, type Server } from "node:http";

/** The demo's stand-in for an LLM API and a download host, on a free loopback port. */
export async function startStub(): Promise<{ port: number; close: () => Promise<void>; requests: string[] }> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    if (req.method === "POST") {
      req.resume();
      req.on("end", () => {
        const body = JSON.stringify({ content: [{ type: "text", text: "ok: add src/add.js and a test" }] });
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
        res.end(body);
      });
      return;
    }
    const body = "#!/bin/sh\necho installed > /dev/null\n";
    res.writeHead(200, { "content-type": "text/x-sh", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const addr = server.address();
  if (addr === null || typeof addr === "string") throw new Error("stub server has no port");
  return {
    port: addr.port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
