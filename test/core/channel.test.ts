import assert from "node:assert/strict";
import { test } from "node:test";
import { Channel } from "../../src/core/channel.js";

test("a full channel makes the producer wait and counts the wait", async () => {
  const ch = new Channel<number>(2);
  await ch.push(1);
  await ch.push(2);
  let third = false;
  const p = ch.push(3).then(() => {
    third = true;
  });
  await new Promise((r) => setImmediate(r));
  assert.equal(third, false, "push into a full channel must wait");
  assert.equal((await ch.next()).value, 1);
  await p;
  assert.equal(third, true);
  assert.equal(ch.lag.waits, 1);
  ch.close();
  const rest: number[] = [];
  for await (const v of ch) rest.push(v);
  assert.deepEqual(rest, [2, 3]);
});

test("close with a failure ends readers with that failure after the queue drains", async () => {
  const ch = new Channel<number>(4);
  await ch.push(7);
  ch.close(new Error("boom"));
  assert.equal((await ch.next()).value, 7);
  await assert.rejects(ch.next(), /boom/);
});
