'use strict';
// The licence texts of every package inside the release bundle, found from esbuild's metafile (what
// was really bundled, not what package.json lists), into licenses/<package>.txt, with an index.
const fs = require('node:fs');
const path = require('node:path');

const LICENCE_FILE = /^(licen[cs]e|copying)(\.(md|txt|markdown))?$|^licen[cs]e[-_.]/i;

/**
 * The standard texts of the licences of packages that declare one in package.json but ship no file
 * (node-powershell and its helpers, saxes): the notice the licence asks for, with the package's author.
 */
const STANDARD_TEXT = {
  MIT: (holder) => `MIT License

Copyright (c) ${holder}

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the "Software"), to deal in the Software without restriction, including
without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is furnished to do so, subject to the
following conditions:

The above copyright notice and this permission notice shall be included in all copies or substantial
portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT
LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO
EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER
IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR
THE USE OR OTHER DEALINGS IN THE SOFTWARE.`,
  ISC: (holder) => `ISC License

Copyright (c) ${holder}

Permission to use, copy, modify, and/or distribute this software for any purpose with or without fee is
hereby granted, provided that the above copyright notice and this permission notice appear in all copies.

THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES WITH REGARD TO THIS SOFTWARE
INCLUDING ALL IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES WHATSOEVER RESULTING FROM LOSS OF
USE, DATA OR PROFITS, WHETHER IN AN ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.`,
};

function authorOf(manifest) {
  const author = manifest.author;
  if (typeof author === 'string') return author;
  if (author && typeof author.name === 'string') return author.email ? `${author.name} <${author.email}>` : author.name;
  return `the authors of ${manifest.name}`;
}

/** package directory (relative to the root) → its name, for every node_modules package with bundled input. */
function bundledPackages(metafile) {
  const directories = new Map();
  for (const input of Object.keys(metafile.inputs)) {
    const match = /^(.*node_modules\/((?:@[^/]+\/)?[^/]+))\//.exec(input);
    if (match !== null) directories.set(match[1], match[2]);
  }
  return directories;
}

function collectLicences(root, metafile, outDirectory) {
  fs.mkdirSync(outDirectory, { recursive: true });
  const index = [];
  const missing = [];
  for (const [directory, name] of [...bundledPackages(metafile)].sort((a, b) => (a[1] < b[1] ? -1 : 1))) {
    const manifest = JSON.parse(fs.readFileSync(path.join(root, directory, 'package.json'), 'utf8'));
    const licence = typeof manifest.license === 'string' ? manifest.license : (manifest.license?.type ?? 'unknown');
    const files = fs.readdirSync(path.join(root, directory)).filter((file) => LICENCE_FILE.test(file)).sort();
    const target = `${name.replace('/', '+')}.txt`;
    let text;
    if (files.length > 0) {
      text = files.map((file) => fs.readFileSync(path.join(root, directory, file), 'utf8').trimEnd()).join('\n\n');
    } else if (STANDARD_TEXT[licence] !== undefined) {
      text = `(The package declares "${licence}" in its package.json and ships no licence file; this is that licence's standard text.)\n\n${STANDARD_TEXT[licence](authorOf(manifest))}`;
    } else {
      missing.push(`${name}@${manifest.version} (${licence})`);
      continue;
    }
    fs.writeFileSync(path.join(outDirectory, target), `${name} ${manifest.version} (${licence})\n\n${text}\n`);
    index.push(`${name}@${manifest.version}\t${licence}\t${target}`);
  }
  if (missing.length > 0) throw new Error(`no licence text in the package of: ${missing.join(', ')}`);
  const header = [
    'Licences of what hyperv-ic-exporter ships:',
    '- node.exe: Node.js, node.js.txt (Node.js and the licences of the code it contains).',
    '- hyperv-ic-exporter.js and bcryptWorker.js: the exporter (Apache-2.0, ../LICENSE.txt) bundled with these packages:',
    '',
  ];
  fs.writeFileSync(path.join(outDirectory, 'README.txt'), `${[...header, ...index].join('\n')}\n`);
  return index.length;
}

module.exports = { collectLicences, bundledPackages };
