/**
 * The basic auth verifier on its own: comparisons off the event loop, the cache of verified
 * credentials, the bounded fair queues, and closing. The HTTP side is in httpServer.test.ts and
 * authFlood.test.ts.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import bcrypt from 'bcryptjs';
import {
  clientGroup,
  createBasicAuthVerifier,
  type BasicAuthLimits,
  type BasicAuthOutcome,
  type BasicAuthVerifier,
} from '../../src/server/authBasic';

const PASSWORD = 'correct horse battery staple';
// Cost 10, as a real config would use: ≈75 ms a comparison, long enough to queue behind.
const hash10 = bcrypt.hashSync(PASSWORD, 10);
// Cost 12 (≈0.3 s a comparison): bcrypt.hashSync(PASSWORD, 12), made once, since hashing takes as long.
const HASH_12 = '$2b$12$mEr55dIHYb6itZuSpjE0bObtNqj5tPc.Ofea2vnrXIxE3uHYPuqRy';
const users = new Map([
  ['prometheus', hash10],
  ['backup', hash10],
]);

function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

const verifiers: BasicAuthVerifier[] = [];
afterEach(async () => {
  await Promise.all(verifiers.splice(0).map((verifier) => verifier.close()));
});

function verifier(
  limits: Partial<BasicAuthLimits> = {},
  configuredUsers: ReadonlyMap<string, string> = users,
): BasicAuthVerifier {
  const created = createBasicAuthVerifier(configuredUsers, limits);
  verifiers.push(created);
  return created;
}

/** Resolves in order of settlement, with the label of each. */
function settlementOrder(checks: Record<string, Promise<BasicAuthOutcome>>): Promise<string[]> {
  const order: string[] = [];
  return Promise.all(Object.entries(checks).map(([label, check]) => check.then(() => order.push(label)))).then(() => order);
}

/**
 * Whether a check is answered before the event loop's next turn: a remembered credential is, and a
 * comparison cannot be, since its answer comes back from the worker thread as a message.
 */
async function answeredAtOnce(check: Promise<BasicAuthOutcome>): Promise<BasicAuthOutcome | 'later'> {
  const nextTurn = new Promise<'later'>((done) => setImmediate(() => done('later')));
  return Promise.race([check, nextTurn]);
}

describe('comparisons', () => {
  it('authorizes the right password only, and refuses a malformed header without comparing', async () => {
    const auth = verifier();
    const at = { clientAddress: '10.0.0.1' };

    expect(await auth.check(basic('prometheus', PASSWORD), at)).toBe('authorized');
    expect(await auth.check(basic('prometheus', 'wrong'), at)).toBe('unauthorized');
    expect(await auth.check(basic('nobody', PASSWORD), at)).toBe('unauthorized');
    expect(await auth.check(undefined, at)).toBe('unauthorized');
    expect(await auth.check('Basic !!!', at)).toBe('unauthorized');
    expect(await auth.check(`Basic ${Buffer.from('prometheus').toString('base64')}`, at)).toBe('unauthorized');
  });

  it('never blocks the event loop while comparing', async () => {
    const auth = verifier({}, new Map([['prometheus', HASH_12]]));
    let ticks = 0;
    const ticker = setInterval(() => (ticks += 1), 5);
    const outcomes = await Promise.all([
      auth.check(basic('prometheus', 'wrong'), { clientAddress: '10.0.0.1' }),
      auth.check(basic('nobody', 'wrong'), { clientAddress: '10.0.0.2' }),
    ]);
    clearInterval(ticker);

    expect(outcomes).toEqual(['unauthorized', 'unauthorized']);
    // Two cost-12 comparisons (≈0.6 s) ran. Had they run on the event loop, the 5 ms ticker would
    // have ticked at most once after each; off it, it ticks dozens of times even on a loaded machine.
    // (Counting ticks, not timing the longest gap: a busy CI machine stretches gaps, not their number.)
    expect(ticks).toBeGreaterThanOrEqual(10);
  });

  it('remembers verified credentials (answered at once, no queue), never a failure', async () => {
    const auth = verifier({ waitingPerUser: 1 });
    const at = { clientAddress: '10.0.0.1' };
    expect(await auth.check(basic('prometheus', PASSWORD), at)).toBe('authorized');
    expect(await auth.check(basic('prometheus', 'wrong-1'), at)).toBe('unauthorized');

    // One wrong password being compared, one waiting: the queue of ('10.0.0.1', 'prometheus') is full.
    const more = [auth.check(basic('prometheus', 'wrong-2'), at), auth.check(basic('prometheus', 'wrong-3'), at)];
    expect(await answeredAtOnce(auth.check(basic('prometheus', PASSWORD), at))).toBe('authorized');
    // A failure already seen is not remembered: it needs a comparison again, so it finds the queue full.
    expect(await auth.check(basic('prometheus', 'wrong-1'), at)).toBe('busy');
    expect(await Promise.all(more)).toEqual(['unauthorized', 'unauthorized']);
  });

  it('keeps remembering at most verifiedCacheSize credentials, the least recently used dropped first', async () => {
    const auth = verifier({ verifiedCacheSize: 2 }, new Map([...users, ['third', hash10]]));
    const at = { clientAddress: '10.0.0.1' };
    const check = (username: string): Promise<BasicAuthOutcome> => auth.check(basic(username, PASSWORD), at);
    expect(await check('prometheus')).toBe('authorized');
    expect(await check('backup')).toBe('authorized');
    expect(await answeredAtOnce(check('prometheus'))).toBe('authorized');
    expect(await check('third')).toBe('authorized');

    // 'backup' was used least recently, so it made room for 'third'.
    expect(await answeredAtOnce(check('prometheus'))).toBe('authorized');
    const backupAgain = check('backup');
    expect(await answeredAtOnce(backupAgain)).toBe('later');
    expect(await backupAgain).toBe('authorized');
  });
});

describe('queues', () => {
  it('serves clients round-robin: a new client waits behind one request of a flooding client, not all of them', async () => {
    const auth = verifier();
    const flooder = { clientAddress: '10.0.0.1' };
    const checks: Record<string, Promise<BasicAuthOutcome>> = {};
    for (let i = 1; i <= 4; i += 1) checks[`flood ${i}`] = auth.check(basic('prometheus', `guess-${i}`), flooder);
    checks['scraper'] = auth.check(basic('prometheus', PASSWORD), { clientAddress: '10.0.0.2' });

    const order = await settlementOrder(checks);

    // 'flood 1' was being compared when the others came; then 10.0.0.1 and 10.0.0.2 take turns.
    expect(order).toEqual(['flood 1', 'flood 2', 'scraper', 'flood 3', 'flood 4']);
    expect(await checks['scraper']).toBe('authorized');
  });

  it('serves the usernames of one client round-robin, unknown ones alike', async () => {
    const auth = verifier();
    const client = { clientAddress: '10.0.0.1' };
    const checks: Record<string, Promise<BasicAuthOutcome>> = {};
    for (let i = 1; i <= 4; i += 1) checks[`nobody ${i}`] = auth.check(basic('nobody', `guess-${i}`), client);
    checks['backup'] = auth.check(basic('backup', PASSWORD), client);

    const order = await settlementOrder(checks);

    expect(order).toEqual(['nobody 1', 'nobody 2', 'backup', 'nobody 3', 'nobody 4']);
  });

  it('refuses at once, without comparing, beyond the bounds: per client and username, usernames per client, in all', async () => {
    const auth = verifier({ waitingPerUser: 2, usernamesPerClient: 2, waitingTotal: 5 });
    const a = { clientAddress: '10.0.0.1' };
    const settled: Promise<BasicAuthOutcome>[] = [];
    const check = (username: string, at: { clientAddress: string }): Promise<BasicAuthOutcome> => {
      const outcome = auth.check(basic(username, 'wrong'), at);
      settled.push(outcome);
      return outcome;
    };
    const immediately = async (outcome: Promise<BasicAuthOutcome>): Promise<BasicAuthOutcome | 'still waiting'> =>
      Promise.race([outcome, new Promise<'still waiting'>((resolve) => setTimeout(() => resolve('still waiting'), 20))]);

    check('prometheus', a); // being compared: not waiting
    check('prometheus', a);
    check('prometheus', a);
    expect(await immediately(check('prometheus', a))).toBe('busy'); // 3rd waiting for (a, prometheus)
    check('nobody', a);
    expect(await immediately(check('third-name', a))).toBe('busy'); // 3rd username of a
    check('backup', { clientAddress: '10.0.0.2' });
    check('backup', { clientAddress: '10.0.0.3' });
    expect(await immediately(check('backup', { clientAddress: '10.0.0.4' }))).toBe('busy'); // 6th waiting in all

    const outcomes = await Promise.all(settled);
    expect(outcomes.filter((outcome) => outcome === 'busy')).toHaveLength(3);
    expect(outcomes.filter((outcome) => outcome === 'unauthorized')).toHaveLength(6);
  });

  it('takes a request whose client went away out of its queue without comparing it', async () => {
    const auth = verifier({ waitingPerUser: 1 });
    const at = { clientAddress: '10.0.0.1' };
    const first = auth.check(basic('prometheus', 'wrong'), at);
    const gone = new AbortController();
    const abandoned = auth.check(basic('prometheus', 'wrong-2'), { ...at, signal: gone.signal });

    gone.abort();

    expect(await abandoned).toBe('busy');
    // Its place in the queue is free again.
    const next = auth.check(basic('prometheus', PASSWORD), at);
    expect(await first).toBe('unauthorized');
    expect(await next).toBe('authorized');
  });
});

it('close() answers waiting requests busy; the verifier starts a new worker when needed again', async () => {
  const auth = verifier();
  const at = { clientAddress: '10.0.0.1' };
  const comparing = auth.check(basic('prometheus', 'wrong'), at);
  const waiting = auth.check(basic('prometheus', 'wrong-2'), at);

  await auth.close();

  expect(await comparing).toBe('busy');
  expect(await waiting).toBe('busy');
  expect(await auth.check(basic('prometheus', PASSWORD), at)).toBe('authorized');
});

it('does not keep the process alive: a program that checked a password and never closed the verifier exits', async () => {
  // The module as built (plain JavaScript, its worker beside it), in a process of its own (ts-jest's process would not tell).
  const built = resolve(__dirname, '../../dist/server/authBasic.js');
  const program = [
    `const { createBasicAuthVerifier } = require(${JSON.stringify(built)});`,
    `const verifier = createBasicAuthVerifier(new Map([['prometheus', ${JSON.stringify(hash10)}]]));`,
    `verifier.check(${JSON.stringify(basic('prometheus', PASSWORD))}, { clientAddress: '10.0.0.1' })`,
    `  .then((outcome) => console.log(outcome));`,
  ].join('\n');
  const startedAt = performance.now();
  const result = await new Promise<{ code: number | null; stdout: string }>((done) => {
    const child = execFile(
      process.execPath,
      ['-e', program],
      { env: { ...process.env, NODE_PATH: resolve(__dirname, '../../node_modules') }, timeout: 10_000 },
      (_error, stdout) => done({ code: child.exitCode, stdout }),
    );
  });

  expect(result).toEqual({ code: 0, stdout: 'authorized\n' });
  expect(performance.now() - startedAt).toBeLessThan(5_000);
});

describe('clientGroup', () => {
  it.each([
    ['192.0.2.7', '192.0.2.7'],
    ['::ffff:192.0.2.7', '192.0.2.7'],
    ['::FFFF:127.0.0.1', '127.0.0.1'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:ffff::1', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['2001:db8:0:0:1::', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['64:ff9b::192.0.2.1', '64:ff9b:0:0::/64'],
    [undefined, ''],
  ])('%s is queued as %s', (address, group) => {
    expect(clientGroup(address)).toBe(group);
  });
});
