// Types of authFlood.js, for test/server/authFlood.test.ts.
export interface Scrape {
  readonly status: number;
  readonly ms: number;
}
export interface FloodResult {
  readonly sent: number;
  readonly statuses: Record<string, number>;
  readonly stoppedBy: 'parent' | 'maxDurationMs';
}
export interface Flood {
  readonly result: Promise<FloodResult>;
  running(): boolean;
  stop(): void;
  kill(): void;
}
export interface ScrapeSummary {
  readonly requests: number;
  readonly notOk: string[];
  readonly firstMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}
export const FLOOD: { readonly connections: number; readonly maxDurationMs: number; readonly requestsPerSecond: number; readonly maxRequests: number; readonly usernames: readonly string[] };
export const SCRAPE: { readonly startAfterMs: number; readonly count: number; readonly pauseMs: number; readonly timeoutMs: number };
export function floodAndScrape(port: number, password: string, onFlood?: (flood: Flood) => void): Promise<{ prometheus: Scrape[]; backup: Scrape[]; flood: FloodResult }>;
export function summary(scrapes: readonly Scrape[]): ScrapeSummary;
