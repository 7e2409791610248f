/**
 * BoundedMap forgets its least recently set entries, in order, however entries were
 * re-set or deleted in between (its eviction keeps one iterator for the map's life).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BoundedMap, BoundedSet } from "../../src/classify/risk/bounded.js";

describe("BoundedMap", () => {
  it("drops the least recently set entry, after re-sets and deletes", () => {
    const m = new BoundedMap<number, string>(3);
    m.set(1, "a");
    m.set(2, "b");
    m.set(3, "c");
    m.set(1, "a2"); // 1 is now the newest
    m.set(4, "d"); // drops 2
    assert.deepEqual(
      [...m.entries()],
      [
        [3, "c"],
        [1, "a2"],
        [4, "d"],
      ],
    );
    m.delete(1);
    m.set(5, "e");
    m.set(6, "f"); // drops 3
    assert.deepEqual(
      [...m.entries()],
      [
        [4, "d"],
        [5, "e"],
        [6, "f"],
      ],
    );
    for (let i = 7; i < 1000; i++) {
      m.set(i, String(i));
      if (i % 3 === 0) m.set(i, "twice"); // the newest set again
      if (i % 11 === 0) {
        m.delete(i); // the newest deleted, then set again
        m.set(i, "back");
      }
      if (i % 5 === 0) m.delete(i - 1);
      if (i % 7 === 0) m.set(i - 2, "again");
    }
    assert.equal(m.size, 3);
    assert.equal(m.get(999), "twice", "setting the newest again replaces its value");
    // the three most recently set keys, by a plain model
    const model: number[] = [4, 5, 6];
    for (let i = 7; i < 1000; i++) {
      const put = (k: number) => {
        const at = model.indexOf(k);
        if (at >= 0) model.splice(at, 1);
        model.push(k);
        if (model.length > 3) model.shift();
      };
      put(i);
      if (i % 3 === 0) put(i);
      if (i % 11 === 0) {
        model.splice(model.indexOf(i), 1);
        put(i);
      }
      if (i % 5 === 0) {
        const at = model.indexOf(i - 1);
        if (at >= 0) model.splice(at, 1);
      }
      if (i % 7 === 0) put(i - 2);
    }
    assert.deepEqual(
      [...m.entries()].map(([k]) => k),
      model,
    );
  });

  it("a set keeps the same bound", () => {
    const s = new BoundedSet<string>(2);
    for (const k of ["a", "b", "c", "b", "d"]) s.add(k);
    assert.equal(s.size, 2);
    assert.ok(s.has("b") && s.has("d") && !s.has("a") && !s.has("c"));
  });
});
