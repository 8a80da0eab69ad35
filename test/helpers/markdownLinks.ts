import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { REPOSITORY_ROOT } from './testTools';

/** The pages a user reads first: README, CHANGELOG and docs/. Paths relative to the repository. */
export function userPages(): string[] {
  return ['README.md', 'CHANGELOG.md', ...readdirSync(join(REPOSITORY_ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
}

/** A page's relative links (not http/mailto), as written, outside code blocks. */
export function relativeLinks(page: string): string[] {
  const text = readFileSync(join(REPOSITORY_ROOT, page), 'utf8').replace(/```[\s\S]*?```/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] ?? '').filter((link) => !/^(https?:|mailto:)/.test(link));
}

/** Every file or folder the user pages link to, relative to the repository (anchors and same-page links left out). */
export function linkedPaths(): string[] {
  const paths = new Set<string>();
  for (const page of userPages()) {
    for (const link of relativeLinks(page)) {
      const file = link.split('#')[0] ?? '';
      if (file === '') continue;
      paths.add(relative(REPOSITORY_ROOT, normalize(join(REPOSITORY_ROOT, dirname(page), file))));
    }
  }
  return [...paths].sort();
}
