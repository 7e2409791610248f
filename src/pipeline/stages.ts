import { homedir } from "node:os";
import { createAggregator } from "../aggregate/aggregator.js";
import { createActivityCollector } from "../classify/activity.js";
import { createTreeClassifier } from "../classify/labels.js";
import { createRiskEngine } from "../classify/risks.js";
import type { Rules } from "../classify/rules.js";
import type { Action, EnhancedEvent, ParsedItem, ProcessTreeSnapshot, RawLine, RiskFinding } from "../core/events.js";
import { capsuleHome } from "../core/home.js";
import type { RecordDataMode } from "../core/levels.js";
import type { Stage } from "../core/stage.js";
import { createEnricher } from "../enrich/index.js";
import { redactDataArgs } from "../parse/strace/redact.js";
import { createTracker } from "../track/tracker.js";
import type { Stages } from "./pipeline.js";

export interface StageOptions {
  parser: Stage<RawLine, ParsedItem> & { readonly stats: { parseErrors: number } };
  /** Live run (the enricher may read /proc) or import. */
  live: boolean;
  recordData: RecordDataMode;
  /** Whether raw lines may carry data buffers to redact (strace); false for tracers that never print them. */
  redactable: boolean;
  rules: Rules;
  /** The traced root's cwd, the project folder for rules; null to learn it from the trace. */
  projectDir: string | null;
  env: NodeJS.ProcessEnv;
  filter: ((e: EnhancedEvent) => boolean) | null;
}

/**
 * Build every stage of one session. The tree the tracker keeps is labelled and given
 * workflows whenever it is snapshotted, so tree.json always carries the classification.
 */
export function buildStages(o: StageOptions): Stages & { classify(tree: ProcessTreeSnapshot): ProcessTreeSnapshot } {
  const home = o.env.HOME ?? homedir();
  const tracker = createTracker();
  const activity = createActivityCollector(o.rules, { projectDir: o.projectDir, home });
  const engine = createRiskEngine(o.rules, {
    projectDir: o.projectDir,
    home,
    capsuleHome: capsuleHome(o.env),
  });
  // the tree is classified at every tree.json rewrite: what did not change is not worked out again
  const classify = createTreeClassifier(o.rules, activity);
  return {
    redact: o.recordData === "lengths" && o.redactable ? redactDataArgs : null,
    parser: o.parser,
    tracker: {
      push: (b) => tracker.push(b),
      end: () => tracker.end(),
      snapshot: (final) => classify(tracker.snapshot(final)),
      silent: () => tracker.silent(),
      laterRuns: () => tracker.laterRuns(),
    },
    enricher: createEnricher({ live: o.live, rootCwd: o.projectDir, rawHash: false }),
    filter: o.filter,
    aggregator: createAggregator(),
    risks: {
      push(events: readonly EnhancedEvent[], actions: readonly Action[]): RiskFinding[] {
        const found = events.length ? engine.push(events) : [];
        if (actions.length) {
          activity.push(actions);
          found.push(...engine.pushActions(actions));
        }
        return found;
      },
      end: (tree) => engine.end(tree),
    },
    classify,
  };
}
