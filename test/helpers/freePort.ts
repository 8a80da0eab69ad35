import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Linux's default when /proc cannot say: the local ports outgoing connections and listen(0) take. */
const DEFAULT_EPHEMERAL_RANGE: readonly [number, number] = [32768, 60999];
/** The lowest port handed out: above the well-known and the common registered service ports. */
const LOWEST = 10_000;

/** The kernel's range for the local port of an outgoing connection (net.ipv4.ip_local_port_range). */
function ephemeralRange(): readonly [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low !== undefined && high !== undefined && Number.isInteger(low) && Number.isInteger(high)) return [low, high];
  } catch {
    // not Linux
  }
  return DEFAULT_EPHEMERAL_RANGE;
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A port on 127.0.0.1, free now, for a program that the test starts next to listen on. It is taken
 * below the ephemeral range: a port of that range (what listen(0) gives) can be given, before that
 * program listens, to another listen(0) (the exporters the suites beside this one start on port 0)
 * or to an outgoing connection as its local port. In a CI run an Alertmanager found its port taken
 * (EADDRINUSE) and something else answered in its place. At random, so that two suites asking at once
 * get the same port as rarely as can be.
 */
export async function freePort(): Promise<number> {
  const [ephemeralLow, ephemeralHigh] = ephemeralRange();
  // Below the range where there is room (as by default), else above it.
  const [lowest, highest] = ephemeralLow - LOWEST >= 1000 ? [LOWEST, ephemeralLow - 1] : [ephemeralHigh + 1, 65_535];
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = lowest + Math.floor(Math.random() * (highest - lowest + 1));
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port on 127.0.0.1 between ${lowest} and ${highest} after 100 tries`);
}
