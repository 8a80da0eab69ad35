/**
 * HTTP basic auth against bcrypt hashes from the web config, shaped after exporter-toolkit
 * (web/handler.go and web/cache.go) and made to hold up under a flood of bad logins.
 *
 * Kept from exporter-toolkit:
 * - an unknown user costs the same bcrypt comparison as a wrong password (against a configured hash,
 *   so of a real user's cost), so response time does not reveal which usernames exist;
 * - a verified password is remembered per user and password, so a scrape every few seconds does not
 *   pay a bcrypt comparison each time;
 * - comparisons run one at a time, so guessing can take at most one core from the scrapes.
 *
 * Changed:
 * - Comparisons run in a worker thread, never on the event loop (bcryptjs is plain JavaScript: a
 *   cost-10 comparison is ≈75 ms of CPU, during which the loop would accept and answer nothing).
 *   One worker, started on the first comparison and ended by close() (the HTTP server calls it when
 *   it closes); it is unref'd while idle, so it never keeps the process alive by itself.
 * - Only successes are remembered: exporter-toolkit keeps failures in the same bounded map, where a
 *   flood of failures evicts the good entries. Here a failure is compared again every time, and the
 *   cache (at most 64 entries, least recently used dropped first) only grows with valid passwords.
 * - The cache key is an HMAC-SHA-256 of user and password under a random key made at start, not the
 *   password (exporter-toolkit keys by the hex of user, hash and password) nor a plain hash of it (which
 *   could be matched against precomputed hashes or brute-forced without bcrypt's cost): nothing kept in
 *   memory means anything outside this process, and nothing derived from a password is ever logged.
 * - Requests that need a comparison wait in bounded, fair queues instead of in one line:
 *   - they are grouped by client address (an IPv6 /64 counts as one client) and, within a client, by
 *     the username they claim, whether it exists or not (so queueing tells no more than a comparison);
 *   - the worker takes them round-robin: the next client, its next username, that username's oldest
 *     request. A client's first request with the right password therefore waits for the comparison in
 *     progress and then about one per other waiting client (and per other username waiting from its
 *     own address), however many requests those send;
 *   - at most 4 requests wait per client and username, 8 usernames per client, 256 in all. Beyond a
 *     bound the answer is 'busy' at once, without comparing: the server answers 503 (the password was
 *     not checked, so 401 would be a lie that tells a legitimate client its password is wrong);
 *   - a request whose client goes away leaves the queue without being compared.
 *   Limits: requests from one address with one username cannot be told apart before their passwords
 *   are compared, so a flood of guesses for user U from address A can delay, or get 503 for, the first
 *   request of the real U from A; a flood using 8 usernames or more from A does the same to any new
 *   username from A; and a flood from more than 64 addresses (256 / 4) can fill the queues for
 *   everyone new. A client whose password is already remembered is never held up: it does not enter
 *   the queues at all, and waiting requests hold no `--web.max-requests` slot (see httpServer.ts).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

/** 'busy': refused without comparing, because a bound of the queues was reached (or the verifier closed). */
export type BasicAuthOutcome = 'authorized' | 'unauthorized' | 'busy';

export interface BasicAuthRequest {
  /** The client's IP address (`request.socket.remoteAddress`); requests are queued fairly per address. */
  readonly clientAddress: string | undefined;
  /** Aborted when the client goes away: a waiting request then leaves its queue without a comparison. */
  readonly signal?: AbortSignal | undefined;
}

export interface BasicAuthVerifier {
  /**
   * 'authorized' only for a well-formed `Basic` header naming a configured user with the right
   * password; remembered credentials are answered at once, the others wait for a comparison.
   */
  check(authorizationHeader: string | undefined, request: BasicAuthRequest): Promise<BasicAuthOutcome>;
  /** Ends the worker thread; waiting requests get 'busy'. A later check starts a new worker. */
  close(): Promise<void>;
}

export interface BasicAuthLimits {
  /** Remembered successful verifications; enough for every user of a sane config, and a bound on memory. */
  readonly verifiedCacheSize: number;
  /** Requests waiting for a comparison per client address and username. */
  readonly waitingPerUser: number;
  /** Usernames with waiting requests per client address. */
  readonly usernamesPerClient: number;
  /** Requests waiting for a comparison in all. */
  readonly waitingTotal: number;
}

export const DEFAULT_BASIC_AUTH_LIMITS: BasicAuthLimits = {
  verifiedCacheSize: 64,
  waitingPerUser: 4,
  usernamesPerClient: 8,
  waitingTotal: 256,
};

interface BasicCredentials {
  readonly username: string;
  readonly password: string;
}

interface Waiting {
  readonly client: string;
  readonly username: string;
  readonly password: string;
  readonly cacheKey: string;
  settle(outcome: BasicAuthOutcome): void;
  fail(error: unknown): void;
}

export function createBasicAuthVerifier(
  users: ReadonlyMap<string, string>,
  options: Partial<BasicAuthLimits> = {},
): BasicAuthVerifier {
  const [timingDecoyHash] = users.values();
  if (timingDecoyHash === undefined) throw new Error('basic auth needs at least one user');
  const limits = { ...DEFAULT_BASIC_AUTH_LIMITS, ...options };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be an integer >= 1, got ${value}`);
  }
  const cacheKeySecret = randomBytes(32);
  const verified = new Set<string>();
  const queue = new FairQueue(limits);
  const bcryptWorker = new BcryptWorker();
  let comparing = false;

  const cacheKeyOf = ({ username, password }: BasicCredentials): string =>
    // JSON keeps ("a:b", "c") and ("a", "b:c") apart.
    createHmac('sha256', cacheKeySecret).update(JSON.stringify([username, password])).digest('base64');

  const isRemembered = (cacheKey: string): boolean => {
    if (!verified.has(cacheKey)) return false;
    // Least recently used goes first: a Set iterates in insertion order.
    verified.delete(cacheKey);
    verified.add(cacheKey);
    return true;
  };

  const remember = (cacheKey: string): void => {
    if (verified.has(cacheKey)) return;
    if (verified.size >= limits.verifiedCacheSize) {
      const [oldest] = verified;
      if (oldest !== undefined) verified.delete(oldest);
    }
    verified.add(cacheKey);
  };

  /** Starts the next comparison unless one is running. */
  const compareNext = (): void => {
    if (comparing) return;
    let next = queue.next();
    // Requests sent together with the same new credentials: the first comparison answers them all.
    while (next !== undefined && verified.has(next.cacheKey)) {
      next.settle('authorized');
      next = queue.next();
    }
    if (next === undefined) return;
    const waiting = next;
    comparing = true;
    const userHash = users.get(waiting.username);
    bcryptWorker.compare(waiting.password, userHash ?? timingDecoyHash).then(
      (passwordMatches) => {
        comparing = false;
        const authorized = userHash !== undefined && passwordMatches;
        if (authorized) remember(waiting.cacheKey);
        waiting.settle(authorized ? 'authorized' : 'unauthorized');
        compareNext();
      },
      (error: unknown) => {
        comparing = false;
        if (error instanceof BcryptWorkerClosed) waiting.settle('busy');
        else waiting.fail(error);
        compareNext();
      },
    );
  };

  return {
    check(authorizationHeader, { clientAddress, signal }) {
      const credentials = parseBasicAuthorization(authorizationHeader);
      if (credentials === undefined) return Promise.resolve('unauthorized');
      const cacheKey = cacheKeyOf(credentials);
      if (isRemembered(cacheKey)) return Promise.resolve('authorized');
      if (signal?.aborted === true) return Promise.resolve('busy');

      return new Promise<BasicAuthOutcome>((resolve, reject) => {
        const leave = (): void => {
          // Still waiting: no comparison for a client that is gone. Already comparing: let it finish.
          if (queue.remove(waiting)) resolve('busy');
        };
        const waiting: Waiting = {
          client: clientGroup(clientAddress),
          username: credentials.username,
          password: credentials.password,
          cacheKey,
          settle: (outcome) => {
            signal?.removeEventListener('abort', leave);
            resolve(outcome);
          },
          fail: (error) => {
            signal?.removeEventListener('abort', leave);
            reject(error);
          },
        };
        if (!queue.add(waiting)) {
          resolve('busy');
          return;
        }
        signal?.addEventListener('abort', leave, { once: true });
        compareNext();
      });
    },

    async close() {
      for (const waiting of queue.drain()) waiting.settle('busy');
      await bcryptWorker.close();
    },
  };
}

/**
 * Waiting requests by client, then username, each FIFO. Maps iterate in insertion order, so taking
 * the first entry and re-inserting it (at the end) when it still has requests is a round-robin.
 */
class FairQueue {
  private readonly clients = new Map<string, Map<string, Waiting[]>>();
  private size = 0;

  constructor(private readonly limits: BasicAuthLimits) {}

  /** False, and nothing queued, when a bound is reached. */
  add(waiting: Waiting): boolean {
    if (this.size >= this.limits.waitingTotal) return false;
    const usernames = this.clients.get(waiting.client) ?? new Map<string, Waiting[]>();
    const requests = usernames.get(waiting.username) ?? [];
    if (requests.length >= this.limits.waitingPerUser) return false;
    if (requests.length === 0 && usernames.size >= this.limits.usernamesPerClient) return false;
    requests.push(waiting);
    usernames.set(waiting.username, requests);
    this.clients.set(waiting.client, usernames);
    this.size += 1;
    return true;
  }

  /** True if it was still waiting. */
  remove(waiting: Waiting): boolean {
    const usernames = this.clients.get(waiting.client);
    const requests = usernames?.get(waiting.username);
    const index = requests?.indexOf(waiting) ?? -1;
    if (usernames === undefined || requests === undefined || index < 0) return false;
    requests.splice(index, 1);
    this.size -= 1;
    if (requests.length === 0) usernames.delete(waiting.username);
    if (usernames.size === 0) this.clients.delete(waiting.client);
    return true;
  }

  next(): Waiting | undefined {
    const [client, usernames] = firstEntry(this.clients) ?? [];
    if (client === undefined || usernames === undefined) return undefined;
    const [username, requests] = firstEntry(usernames) ?? [];
    const waiting = requests?.shift();
    if (username === undefined || requests === undefined || waiting === undefined) {
      throw new Error('basic auth queue out of order');
    }
    this.size -= 1;
    usernames.delete(username);
    if (requests.length > 0) usernames.set(username, requests);
    this.clients.delete(client);
    if (usernames.size > 0) this.clients.set(client, usernames);
    return waiting;
  }

  drain(): Waiting[] {
    const all = [...this.clients.values()].flatMap((usernames) => [...usernames.values()].flat());
    this.clients.clear();
    this.size = 0;
    return all;
  }
}

function firstEntry<K, V>(map: Map<K, V>): [K, V] | undefined {
  const first = map.entries().next();
  return first.done === true ? undefined : first.value;
}

/**
 * The worker's program: bcryptWorker.js beside this file (in dist/server/, or beside the release
 * bundle). Under ts-jest this file is the .ts source, and the worker is the one tsc built into dist/
 * (the tests build first): a worker thread cannot load TypeScript.
 */
function bcryptWorkerFile(): string {
  const beside = join(__dirname, 'bcryptWorker.js');
  return existsSync(beside) ? beside : join(__dirname, '..', '..', 'dist', 'server', 'bcryptWorker.js');
}

class BcryptWorkerClosed extends Error {}

/** One worker thread, one comparison at a time (the caller waits for each before the next). */
class BcryptWorker {
  private worker: Worker | undefined;
  private pending: { resolve(passwordMatches: boolean): void; reject(error: Error): void } | undefined;

  compare(password: string, hash: string): Promise<boolean> {
    if (this.pending !== undefined) return Promise.reject(new Error('a bcrypt comparison is already running'));
    const worker = this.worker ?? this.start();
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      // Someone waits for this answer; an idle worker, though, must not keep the process alive.
      worker.ref();
      worker.postMessage({ password, hash });
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    if (worker === undefined) return;
    this.fail(worker, new BcryptWorkerClosed('basic auth closed'));
    await worker.terminate();
  }

  private start(): Worker {
    const worker = new Worker(bcryptWorkerFile());
    worker.on('message', (reply: { passwordMatches?: unknown; error?: unknown }) => {
      if (this.worker !== worker) return;
      worker.unref();
      const pending = this.pending;
      this.pending = undefined;
      if (typeof reply.passwordMatches === 'boolean') pending?.resolve(reply.passwordMatches);
      else pending?.reject(new Error(`bcrypt comparison failed: ${String(reply.error)}`));
    });
    worker.on('error', (error) => this.fail(worker, error));
    worker.on('exit', (code) => this.fail(worker, new Error(`the bcrypt worker thread exited with code ${code}`)));
    // Idle until compare() posts; after the listeners, since adding a 'message' listener refs it again.
    worker.unref();
    this.worker = worker;
    return worker;
  }

  /**
   * The worker failed or is being ended: its comparison in progress fails and the next comparison
   * starts a new worker. A worker already replaced is ignored (its comparison was settled then).
   */
  private fail(worker: Worker, error: Error): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    worker.unref();
    const pending = this.pending;
    this.pending = undefined;
    pending?.reject(error);
  }
}

/**
 * The address a client is queued under: IPv4 as is (also when IPv4-mapped), IPv6 by its /64, which
 * one host or site normally holds whole.
 */
export function clientGroup(address: string | undefined): string {
  if (address === undefined) return '';
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address)?.[1];
  if (mapped !== undefined) return mapped;
  if (isIPv4(address)) return address;
  const [withoutZone = address] = address.split('%');
  if (!isIPv6(withoutZone)) return address;
  const halves = withoutZone.split('::');
  const groupsIn = (text: string | undefined): string[] => (text === undefined || text === '' ? [] : text.split(':'));
  const width = (groups: string[]): number => groups.reduce((sum, group) => sum + (group.includes('.') ? 2 : 1), 0);
  const head = groupsIn(halves[0]);
  const tail = groupsIn(halves[1]);
  const groups = halves.length > 1 ? [...head, ...Array<string>(8 - width(head) - width(tail)).fill('0'), ...tail] : head;
  return `${groups
    .slice(0, 4)
    .map((group) => parseInt(group, 16).toString(16))
    .join(':')}::/64`;
}

const BASIC_AUTHORIZATION = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i;

/** Undefined for anything but `Basic <base64 of user:password>` (RFC 7617). */
function parseBasicAuthorization(header: string | undefined): BasicCredentials | undefined {
  const encoded = header === undefined ? undefined : BASIC_AUTHORIZATION.exec(header)?.[1];
  if (encoded === undefined) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const separator = decoded.indexOf(':');
  if (separator < 0) return undefined;
  return { username: decoded.slice(0, separator), password: decoded.slice(separator + 1) };
}
