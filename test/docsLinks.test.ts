import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { relativeLinks, userPages } from './helpers/markdownLinks';

/** A user reads README and docs/ first: every relative link and anchor in them must lead somewhere. */
const root = join(__dirname, '..');
const pages = userPages();

function anchors(markdown: string): Set<string> {
  const slugs = markdown
    .split('\n')
    .filter((line) => /^#{1,6} /.test(line))
    .map((line) =>
      line
        .replace(/^#+ /, '')
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, '')
        .replace(/ /g, '-'),
    );
  return new Set(slugs);
}

describe.each(pages)('%s', (page) => {
  const links = relativeLinks(page);

  test.each(links.length > 0 ? links : ['(no relative links)'])('link %s resolves', (link) => {
    if (link === '(no relative links)') return;
    const [file, anchor] = link.split('#');
    const target = file === '' || file === undefined ? join(root, page) : join(root, dirname(page), file);
    expect(existsSync(target)).toBe(true);
    if (anchor !== undefined && target.endsWith('.md')) expect(anchors(readFileSync(target, 'utf8'))).toContain(anchor);
  });
});
