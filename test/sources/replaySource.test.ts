import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createReplaySource } from '../../src/sources/replaySource';

describe('replay source', () => {
  const dir = mkdtempSync(join(tmpdir(), 'replay-'));
  const signal = new AbortController().signal;

  test('re-reads the file at every sample', async () => {
    const file = join(dir, 'host.json');
    const source = createReplaySource(file);
    writeFileSync(file, '{"a":1}');
    expect(await source.sample('full', signal)).toEqual({ text: '{"a":1}' });
    writeFileSync(file, '{"a":2}');
    expect(await source.sample('full', signal)).toEqual({ text: '{"a":2}' });
  });

  test('reads a UTF-16LE recording with its byte order mark (Windows PowerShell 5.1 redirection)', async () => {
    const file = join(dir, 'utf16.json');
    writeFileSync(file, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('{"name":"Schlüssel 虚拟机"}', 'utf16le')]));
    expect(await createReplaySource(file).sample('full', signal)).toEqual({ text: '{"name":"Schlüssel 虚拟机"}' });
  });

  test('a missing file is a source_error naming the file', async () => {
    const source = createReplaySource(join(dir, 'missing.json'));
    await expect(source.sample('full', signal)).rejects.toMatchObject({ reason: 'source_error', message: `cannot read replay file ${join(dir, 'missing.json')}: ENOENT` });
  });

  test('a file over the size limit is refused without reading it', async () => {
    const file = join(dir, 'big.json');
    writeFileSync(file, 'x'.repeat(100));
    await expect(createReplaySource(file, 50).sample('full', signal)).rejects.toMatchObject({ reason: 'invalid_document' });
  });
});
