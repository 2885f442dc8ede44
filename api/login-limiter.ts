// Failed logins, per source address: a token bucket. Each failure takes a
// token; tokens come back at a steady rate; a source with none left gets 429
// (with Retry-After) before its token is even looked at, so guessing tokens
// runs at the refill rate at best. Successful logins cost nothing.
export interface LoginLimiterOptions {
  /** failures allowed in a burst */
  burst: number;
  /** failures allowed per minute, sustained */
  perMinute: number;
  /** sources remembered at most (the oldest is forgotten first) */
  maxSources: number;
  now?: () => number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimiterOptions = { burst: 10, perMinute: 10, maxSources: 10_000 };

interface Bucket {
  tokens: number;
  at: number;
}

export class LoginLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly now: () => number;

  constructor(private readonly options: LoginLimiterOptions = DEFAULT_LOGIN_LIMITS) {
    this.now = options.now ?? Date.now;
  }

  private refilled(source: string): Bucket {
    const now = this.now();
    const bucket = this.buckets.get(source);
    if (!bucket) return { tokens: this.options.burst, at: now };
    const tokens = Math.min(this.options.burst, bucket.tokens + ((now - bucket.at) / 60_000) * this.options.perMinute);
    return { tokens, at: now };
  }

  /** Seconds until `source` may try again; 0 when it may try now. */
  retryAfterS(source: string): number {
    const { tokens } = this.refilled(source);
    if (tokens >= 1) return 0;
    return Math.ceil(((1 - tokens) / this.options.perMinute) * 60);
  }

  /** A failed login from `source`: it takes one token. */
  recordFailure(source: string): void {
    const bucket = this.refilled(source);
    bucket.tokens = Math.max(0, bucket.tokens - 1);
    this.buckets.delete(source); // re-insert: the map's order is least recently failed first
    this.buckets.set(source, bucket);
    while (this.buckets.size > this.options.maxSources) this.buckets.delete(this.buckets.keys().next().value!);
  }
}
