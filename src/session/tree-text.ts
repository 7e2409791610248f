/**
 * tree.json's text: JSON.stringify of the snapshot, with each node's JSON kept by node
 * object. A live run rewrites tree.json about once a second and hands the nodes that did
 * not change over as the same objects (track/tracker.ts, classify/labels.ts), so only
 * what changed is serialised again; the rest is joined.
 */
import type { ProcessNode, ProcessTreeSnapshot } from "../core/events.js";

/** A cache of node texts, one per session (held weakly: a node dropped from the tree goes). */
export type NodeTexts = WeakMap<ProcessNode, string>;

/** Exactly `JSON.stringify(tree)`. */
export function treeText(tree: ProcessTreeSnapshot, texts: NodeTexts): string {
  const keys = Object.keys(tree);
  // the fast path relies on `nodes` being the last key (as every snapshot has it)
  if (keys[keys.length - 1] !== "nodes" || !Array.isArray(tree.nodes)) return JSON.stringify(tree);
  const head = JSON.stringify({ ...tree, nodes: 0 });
  const parts = new Array<string>(tree.nodes.length);
  for (let i = 0; i < parts.length; i++) {
    const n = tree.nodes[i] as ProcessNode;
    let t = texts.get(n);
    if (t === undefined) {
      t = JSON.stringify(n);
      texts.set(n, t);
    }
    parts[i] = t;
  }
  // head ends in `0}`: the nodes go in its place
  return `${head.slice(0, -2)}[${parts.join(",")}]}`;
}
