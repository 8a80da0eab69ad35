import { readFile, stat } from 'node:fs/promises';
import { DEFAULT_LIMITS } from '../document/limits';
import { SampleError, type RawSample, type SampleSource } from '../contract/sample';

/**
 * Recordings made with Windows PowerShell 5.1's `>` are UTF-16LE with a byte order mark; everything
 * else is UTF-8 (a UTF-8 byte order mark is dropped by the parser).
 */
function decodeText(bytes: Buffer): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return bytes.subarray(2).toString('utf16le');
  return bytes.toString('utf8');
}

/**
 * Replays a recorded sample document. The file is read again at every sample, so a user or a test
 * can change what the exporter serves while it runs (write a temporary file and rename it over). A
 * recording is what it is: asked for a Status sample, it answers with whatever the file holds.
 */
export function createReplaySource(file: string, maxDocumentBytes = DEFAULT_LIMITS.maxDocumentBytes): SampleSource {
  return {
    name: 'replay',
    async sample(_scope, signal): Promise<RawSample> {
      try {
        const info = await stat(file);
        // A FIFO or device has no size to check and can block a thread or stream without end.
        if (!info.isFile()) throw new SampleError('source_error', `replay file ${file} is not a regular file`);
        if (info.size > maxDocumentBytes) {
          throw new SampleError('invalid_document', `replay file ${file} is larger than ${maxDocumentBytes} bytes`);
        }
        return { text: decodeText(await readFile(file, { signal })) };
      } catch (error) {
        if (error instanceof SampleError) throw error;
        const code = (error as NodeJS.ErrnoException).code;
        throw new SampleError('source_error', `cannot read replay file ${file}: ${code ?? (error as Error).message}`, { cause: error });
      }
    },
    async close() {},
  };
}
