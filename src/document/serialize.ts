/**
 * Writes a sample document one instance per line (the layout InstanceLineCache reads; see there):
 * the document's own properties and the opening of "classes" on the first line, then each class as
 * `"Name":[`, its instances one per line, `]`, and `}}` last. It is ordinary JSON, so any reader
 * takes it; the exporter's parser re-parses only the lines that changed since the previous sample.
 * A document without a "classes" object is written as JSON.stringify writes it.
 */
export function serializeDocument(document: Readonly<Record<string, unknown>>): string {
  const { classes, ...rest } = document;
  if (typeof classes !== 'object' || classes === null || Array.isArray(classes)) return `${JSON.stringify(document)}\n`;
  const head = JSON.stringify(rest);
  const lines: string[] = [`${head.length > 2 ? `${head.slice(0, -1)},` : '{'}"classes":{`];
  const entries = Object.entries(classes as Record<string, unknown>).filter(([, instances]) => instances !== undefined);
  entries.forEach(([name, instances], index) => {
    const comma = index < entries.length - 1 ? ',' : '';
    if (Array.isArray(instances)) {
      lines.push(`${JSON.stringify(name)}:[`);
      const last = instances.length - 1;
      instances.forEach((instance, i) => lines.push((JSON.stringify(instance) ?? 'null') + (i < last ? ',' : '')));
      lines.push(`]${comma}`);
    } else {
      // Not an array (a Windows PowerShell 5.1 wrapper, say): still JSON, just not reusable line by line.
      lines.push(`${JSON.stringify(name)}:${JSON.stringify(instances) ?? 'null'}${comma}`);
    }
  });
  lines.push('}}');
  return `${lines.join('\n')}\n`;
}
