// Records a session forever (until killed): used by crash.test.ts to kill a writer mid-run.
//   node --import tsx test/session/crash-child.ts DIR ID
import { STREAMS } from "../../src/session/layout.js";
import { loadSecret } from "../../src/session/secret.js";
import { openSession } from "../../src/session/writer.js";
import { corpusRecords, testMetadata } from "./corpus-records.js";

const [dir, id] = process.argv.slice(2) as [string, string];
const recs = corpusRecords("agent.strace", 20_000);
const s = await openSession(dir, id, { metadata: testMetadata(id), secret: loadSecret({ sessionDir: dir }) });
const longest = recs.enriched.length;
for (let i = 0; i < longest; i += 100) {
  for (const name of STREAMS) {
    const all = recs[name];
    const part = all.slice(Math.floor((i * all.length) / longest), Math.floor(((i + 100) * all.length) / longest));
    if (part.length > 0 && !s.streams[name].write(part)) await s.streams[name].ready();
  }
  // A live run's pace: never far ahead of the disk, so the kill lands mid-stream.
  while (s.streams.enriched.stats.written < i - 300) await new Promise((r) => setTimeout(r, 5));
}
await Promise.all(STREAMS.map((n) => s.streams[n].ready()));
while (s.streams.enriched.stats.written < longest) await new Promise((r) => setTimeout(r, 5));
process.stderr.write("crash-child: wrote every record before it was killed\n");
setInterval(() => {}, 1000); // wait for the kill
