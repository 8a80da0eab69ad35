// The bcrypt worker thread's whole program (authBasic.ts starts it): one comparison per message, so
// that bcrypt, plain JavaScript, never runs on the event loop. A file of its own, so that it is built
// and bundled like the rest of the exporter.
import { parentPort } from 'node:worker_threads';
import bcrypt from 'bcryptjs';

parentPort?.on('message', ({ password, hash }: { password: string; hash: string }) => {
  let reply: { passwordMatches: boolean } | { error: string };
  try {
    reply = { passwordMatches: bcrypt.compareSync(password, hash) === true };
  } catch (error) {
    reply = { error: String((error as Error | undefined)?.message) };
  }
  parentPort?.postMessage(reply);
});
