/** tree.json's text with node texts kept by node object is exactly JSON.stringify of the tree. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { classifyTree } from "../../src/classify/labels.js";
import { loadRules } from "../../src/classify/rules.js";
import type { ProcessTreeSnapshot } from "../../src/core/events.js";
import { type NodeTexts, treeText } from "../../src/session/tree-text.js";
import { treeOf } from "../classify/trees.js";

test("treeText is JSON.stringify of the tree, whatever the cache holds", () => {
  const tree = classifyTree(treeOf("agent.strace"), loadRules(), null);
  const texts: NodeTexts = new Map();
  assert.equal(treeText(tree, texts), JSON.stringify(tree));
  // again from the cache; then a tree sharing some node objects and replacing others
  assert.equal(treeText(tree, texts), JSON.stringify(tree));
  const next: ProcessTreeSnapshot = {
    ...tree,
    final: true,
    nodes: tree.nodes.map((n, i) => (i % 3 === 0 ? { ...n, end_ts: (n.end_ts ?? 0) + 1, label: "Tool" } : n)),
  };
  assert.equal(treeText(next, texts), JSON.stringify(next));
  for (const t of [
    { root: null, final: false, nodes: [] },
    { root: 7, final: true, nodes: tree.nodes.slice(0, 1) },
    // keys in another order: the plain path
    { nodes: tree.nodes.slice(0, 2), root: 1, final: false },
  ] as ProcessTreeSnapshot[])
    assert.equal(treeText(t, texts), JSON.stringify(t));
});
