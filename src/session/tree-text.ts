/**
 * tree.json's text: JSON.stringify of the snapshot, with each node's JSON kept by node id
 * for as long as the node object is the same. A live run rewrites tree.json while it runs
 * and hands the nodes that did not change over as the same objects (track/tracker.ts,
 * classify/labels.ts), so only what changed is serialised again; the rest is joined.
 */
import type { ProcessNode, ProcessTreeSnapshot } from "../core/events.js";

/**
 * A cache of node texts, one per session, by node id (a plain map: a WeakMap by node
 * object cost every collection an ephemeron pass over thousands of entries).
 */
export type NodeTexts = Map<string, { node: ProcessNode; text: string }>;

/** Exactly `JSON.stringify(tree)`. */
export function treeText(tree: ProcessTreeSnapshot, texts: NodeTexts): string {
  const keys = Object.keys(tree);
  // the fast path relies on `nodes` being the last key (as every snapshot has it)
  if (keys[keys.length - 1] !== "nodes" || !Array.isArray(tree.nodes)) return JSON.stringify(tree);
  const head = JSON.stringify({ ...tree, nodes: 0 });
  const parts = new Array<string>(tree.nodes.length);
  for (let i = 0; i < parts.length; i++) {
    const n = tree.nodes[i] as ProcessNode;
    let t = texts.get(n.id);
    if (t === undefined || t.node !== n) {
      t = { node: n, text: JSON.stringify(n) };
      texts.set(n.id, t);
    }
    parts[i] = t.text;
  }
  // head ends in `0}`: the nodes go in its place
  return `${head.slice(0, -2)}[${parts.join(",")}]}`;
}
