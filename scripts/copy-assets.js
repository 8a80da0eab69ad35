// Copies the non-TypeScript files the built exporter needs at run time into dist/.
const fs = require('node:fs');
const path = require('node:path');

const assets = [['src/sources/powershell/collect.ps1', 'dist/sources/powershell/collect.ps1']];
for (const [from, to] of assets) {
  if (!fs.existsSync(from)) continue;
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(from, to);
}
