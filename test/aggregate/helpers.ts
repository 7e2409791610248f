/** Corpus traces through the real parser and enricher, for the aggregator's tests and bench. */
import type { EnhancedEvent, ParsedItem } from "../../src/core/events.js";
import { createEnricher } from "../../src/enrich/index.js";
import { parse, rawLines } from "../track/helpers.js";

/** The enriched events of parsed items, pushed in batches as the pipeline would. */
export async function enrich(items: readonly ParsedItem[], batch = 512): Promise<EnhancedEvent[]> {
  const enricher = createEnricher({ live: false });
  const out: EnhancedEvent[] = [];
  for (let i = 0; i < items.length; i += batch) out.push(...(await enricher.push(items.slice(i, i + batch))));
  out.push(...(await enricher.end()));
  return out;
}

/** A corpus trace (file or -ff folder) as parsed items and enriched events. */
export async function enrichedTrace(path: string): Promise<{ items: ParsedItem[]; events: EnhancedEvent[] }> {
  const items = parse(await rawLines(path));
  return { items, events: await enrich(items) };
}
