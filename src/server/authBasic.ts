/**
 * HTTP basic auth against bcrypt hashes from the web config, shaped after exporter-toolkit:
 * - an unknown user costs the same bcrypt comparison as a wrong password, so response time does not
 *   reveal which usernames exist;
 * - successful verifications are cached (keyed by a SHA-256 of user and password, never the password
 *   itself), so a scrape every few seconds does not pay a bcrypt each time; failures are never
 *   cached, so guessing stays expensive and the cache cannot be grown by an attacker;
 * - comparisons run one at a time, so a burst of bad logins cannot take all the CPU from scrapes.
 */
import { createHash } from 'node:crypto';
import bcrypt from 'bcryptjs';

export interface BasicAuthVerifier {
  /** True only for a well-formed `Basic` header naming a configured user with the right password. */
  isAuthorized(authorizationHeader: string | undefined): Promise<boolean>;
}

interface BasicCredentials {
  readonly username: string;
  readonly password: string;
}

/** Enough for every user of a sane config; an upper bound so memory cannot grow without limit. */
const DEFAULT_VERIFIED_CACHE_SIZE = 64;

export function createBasicAuthVerifier(
  users: ReadonlyMap<string, string>,
  options: { verifiedCacheSize?: number } = {},
): BasicAuthVerifier {
  const [timingDecoyHash] = users.values();
  if (timingDecoyHash === undefined) throw new Error('basic auth needs at least one user');
  const cacheSize = options.verifiedCacheSize ?? DEFAULT_VERIFIED_CACHE_SIZE;
  const verified = new Set<string>();
  let comparisons: Promise<unknown> = Promise.resolve();

  const compareOneAtATime = (password: string, hash: string): Promise<boolean> => {
    const result = comparisons.then(() => bcrypt.compare(password, hash));
    comparisons = result.catch(() => undefined);
    return result;
  };

  return {
    async isAuthorized(authorizationHeader) {
      const credentials = parseBasicAuthorization(authorizationHeader);
      if (credentials === undefined) return false;
      const cacheKey = verifiedCacheKey(credentials);
      if (verified.has(cacheKey)) return true;

      const userHash = users.get(credentials.username);
      // A configured hash (not a made-up one) has exactly the cost of a real user's comparison.
      const passwordMatches = await compareOneAtATime(credentials.password, userHash ?? timingDecoyHash);
      if (userHash === undefined || !passwordMatches) return false;

      if (verified.size >= cacheSize) {
        const [oldest] = verified;
        if (oldest !== undefined) verified.delete(oldest);
      }
      verified.add(cacheKey);
      return true;
    },
  };
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

function verifiedCacheKey({ username, password }: BasicCredentials): string {
  // JSON keeps ("a:b", "c") and ("a", "b:c") apart.
  return createHash('sha256').update(JSON.stringify([username, password])).digest('hex');
}
