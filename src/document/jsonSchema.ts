import { z } from 'zod';
import { SCHEMA_VERSION } from './classes';
import { SAMPLE_DOCUMENT } from './parse';

const DESCRIPTION =
  'A projection of the CIM instances of root/virtualization/v2, class by class, with CIM property names unchanged. Every source (powershell, replay, simulator) produces it; docs/sample-document.md explains it. ' +
  'Generated from the parser\'s own schemas (src/document/classes.ts, parse.ts, wire.ts; test/document/schema.test.ts checks that this file is what they generate), so it accepts exactly what the exporter reads whole, in every shape Windows PowerShell 5.1 and PowerShell 7 write: ' +
  'a document it rejects either fails the sample (not a sample document), or has something dropped and counted in hyperv_sample_dropped_total (an instance; a LastSuccessfulBackupTime that is not a date; a KVP item that is not a string), or has a value the exporter reads as unknown (a value of the wrong type or out of range). ' +
  'Unknown classes and properties are allowed and ignored. Not checked here: the CIM-XML inside KVP items and the limits on them (docs/limits.md), a VM or component listed twice, the size of the document (64 MiB) and the number of VMs read (4 096).';

/**
 * schema/sample-document.schema.json, generated from SAMPLE_DOCUMENT: the JSON Schema of what a source
 * writes, i.e. of the input side of the parser's schemas. `default` is left out where a value that is
 * not valid is read as null (the parser's tolerance, not part of what a source should write).
 */
export function sampleDocumentJsonSchema(): Record<string, unknown> {
  const { $schema, ...generated } = z.toJSONSchema(SAMPLE_DOCUMENT, {
    io: 'input',
    target: 'draft-2020-12',
    override: ({ zodSchema, jsonSchema }) => {
      if (zodSchema._zod.def.type === 'catch') delete jsonSchema.default;
    },
  });
  return {
    $schema,
    $id: 'https://github.com/hyperv-ic-exporter/hyperv-ic-exporter/schema/sample-document.schema.json',
    title: `hyperv-ic-exporter sample document, schemaVersion ${SCHEMA_VERSION}`,
    description: DESCRIPTION,
    ...generated,
  };
}
