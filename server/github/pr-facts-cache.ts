import type { PullRequestFacts } from "./fetch-pull-request";

/**
 * For the audience's submissions only: the same few PRs are named hundreds of times in a minute,
 * so their facts are reused for `ttlMs`, and concurrent lookups of one PR share one request.
 * Builds and merges always ask GitHub afresh.
 */
export function cachePullRequestFacts(
  fetch: (number: number) => Promise<PullRequestFacts>,
  opts: { ttlMs: number; maxEntries?: number; now?: () => number },
): (number: number) => Promise<PullRequestFacts> {
  const now = opts.now ?? Date.now;
  const maxEntries = opts.maxEntries ?? 1000;
  const cache = new Map<number, { at: number; facts: PullRequestFacts }>();
  const inFlight = new Map<number, Promise<PullRequestFacts>>();
  return (number) => {
    const hit = cache.get(number);
    if (hit && now() - hit.at < opts.ttlMs) return Promise.resolve(hit.facts);
    const pending = inFlight.get(number);
    if (pending) return pending;
    const request = fetch(number)
      .then((facts) => {
        if (cache.size >= maxEntries) cache.delete(cache.keys().next().value!);
        cache.set(number, { at: now(), facts });
        return facts;
      })
      .finally(() => inFlight.delete(number));
    inFlight.set(number, request);
    return request;
  };
}
