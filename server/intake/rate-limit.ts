/**
 * Token buckets: `capacity` tokens, refilled continuously at capacity per `windowMs`. Keys are
 * forgotten once their bucket is full again, so memory follows the active audience, not history.
 */
export interface BucketRule {
  capacity: number;
  windowMs: number;
}

/** Parses `5/60s` (5 per 60 seconds) or `50/1s`. */
export function parseBucketRule(text: string): BucketRule | null {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*s\s*$/.exec(text);
  if (!match) return null;
  const capacity = Number(match[1]);
  const seconds = Number(match[2]);
  if (capacity < 1 || seconds < 1) return null;
  return { capacity, windowMs: seconds * 1000 };
}

interface Bucket {
  tokens: number;
  at: number;
}

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly rule: BucketRule,
    private readonly now: () => number = Date.now,
  ) {}

  private refill(key: string): Bucket {
    const t = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: this.rule.capacity, at: t };
    const rate = this.rule.capacity / this.rule.windowMs;
    bucket.tokens = Math.min(this.rule.capacity, bucket.tokens + (t - bucket.at) * rate);
    bucket.at = t;
    return bucket;
  }

  /** Milliseconds until `key` may act again; 0 means it may act now. */
  waitFor(key: string): number {
    const bucket = this.refill(key);
    if (bucket.tokens >= 1) return 0;
    return Math.ceil((1 - bucket.tokens) / (this.rule.capacity / this.rule.windowMs));
  }

  take(key: string): void {
    const bucket = this.refill(key);
    bucket.tokens -= 1;
    this.buckets.set(key, bucket);
    if (this.buckets.size > 10_000) this.sweep();
  }

  private sweep(): void {
    for (const key of this.buckets.keys()) {
      if (this.refill(key).tokens >= this.rule.capacity) this.buckets.delete(key);
    }
  }
}

export interface RateLimits {
  device: BucketRule;
  ip: BucketRule;
  global: BucketRule;
}

/**
 * The three limits a submission passes: its device, its IP (generous: a venue's phones share one
 * address behind NAT) and the whole show. Checked together, taken together.
 */
export class SubmissionLimiter {
  private readonly device: TokenBuckets;
  private readonly ip: TokenBuckets;
  private readonly global: TokenBuckets;

  constructor(limits: RateLimits, now: () => number = Date.now) {
    this.device = new TokenBuckets(limits.device, now);
    this.ip = new TokenBuckets(limits.ip, now);
    this.global = new TokenBuckets(limits.global, now);
  }

  /** null when allowed (and counted), else which limit and how long to wait. */
  check(keys: { device: string | null; ip: string | null }): { limit: "device" | "ip" | "show"; retryAfterMs: number } | null {
    const waits: Array<{ limit: "device" | "ip" | "show"; retryAfterMs: number }> = [];
    if (keys.device) waits.push({ limit: "device", retryAfterMs: this.device.waitFor(keys.device) });
    if (keys.ip) waits.push({ limit: "ip", retryAfterMs: this.ip.waitFor(keys.ip) });
    waits.push({ limit: "show", retryAfterMs: this.global.waitFor("show") });
    const blocked = waits.filter((w) => w.retryAfterMs > 0).sort((a, b) => b.retryAfterMs - a.retryAfterMs)[0];
    if (blocked) return blocked;
    if (keys.device) this.device.take(keys.device);
    if (keys.ip) this.ip.take(keys.ip);
    this.global.take("show");
    return null;
  }
}
