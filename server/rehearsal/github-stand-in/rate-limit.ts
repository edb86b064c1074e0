/**
 * GitHub's primary rate limit, per identity and resource: 60 requests an hour without a token,
 * 5,000 with one (GraphQL has its own budget). Every response carries the `x-ratelimit-*` headers.
 */
export type RateLimitResource = "core" | "graphql";

export interface RateLimitBucket {
  limit: number;
  remaining: number;
  /** Unix seconds. */
  reset: number;
  resource: RateLimitResource;
}

const WINDOW_SECONDS = 3600;
const UNAUTHENTICATED_LIMIT = 60;
const AUTHENTICATED_LIMIT = 5000;

export class RateLimits {
  private readonly buckets = new Map<string, RateLimitBucket>();
  private remainingOverride: number | null = null;

  bucket(identity: string | null, resource: RateLimitResource): RateLimitBucket {
    const key = `${identity ?? "anonymous"}\t${resource}`;
    const now = Math.floor(Date.now() / 1000);
    let bucket = this.buckets.get(key);
    if (!bucket || bucket.reset <= now) {
      const limit = identity === null ? UNAUTHENTICATED_LIMIT : AUTHENTICATED_LIMIT;
      bucket = {
        limit,
        remaining: Math.min(limit, this.remainingOverride ?? limit),
        reset: now + WINDOW_SECONDS,
        resource,
      };
      this.buckets.set(key, bucket);
    }
    return bucket;
  }

  /** Sets what is left in every current window, and in windows opened later by new identities. */
  setRemaining(n: number): void {
    this.remainingOverride = Math.max(0, n);
    for (const bucket of this.buckets.values()) bucket.remaining = Math.min(bucket.limit, this.remainingOverride);
  }

  static headers(bucket: RateLimitBucket): Record<string, string> {
    return {
      "x-ratelimit-limit": String(bucket.limit),
      "x-ratelimit-remaining": String(bucket.remaining),
      "x-ratelimit-used": String(bucket.limit - bucket.remaining),
      "x-ratelimit-reset": String(bucket.reset),
      "x-ratelimit-resource": bucket.resource,
    };
  }

  static summary(bucket: RateLimitBucket): Record<string, number | string> {
    return {
      limit: bucket.limit,
      used: bucket.limit - bucket.remaining,
      remaining: bucket.remaining,
      reset: bucket.reset,
      resource: bucket.resource,
    };
  }
}
