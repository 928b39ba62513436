import type { Clock } from '../clock.js';
import { ServiceError } from '../protocol.js';

/**
 * EB answers Describe* bursts with HTTP 400 Throttling "Rate exceeded" (about 2/s, burst 15): a
 * token bucket on the simulated clock.
 */
export class DescribeThrottle {
  private tokens: number;
  private tokensAt: number;

  constructor(
    private readonly clock: Clock,
    private readonly rate: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
    this.tokensAt = clock.now();
  }

  /** Takes a token, or throws EB's Throttling error. */
  take(): void {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.tokensAt) / 1000) * this.rate);
    this.tokensAt = now;
    if (this.tokens < 1) throw new ServiceError('Throttling', 'Rate exceeded');
    this.tokens -= 1;
  }
}
