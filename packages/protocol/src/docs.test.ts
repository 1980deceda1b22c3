/** docs/protocol.md must list exactly the codes and frames the protocol package defines. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { closeCodes, errorCodes, clientFrameTypes, serverFrameTypes } from './index.js';

const docs = readFileSync(new URL('../../../docs/protocol.md', import.meta.url), 'utf8');

/** The first-column entries of the table under a `## heading` or `### heading`. */
function tableKeys(heading: string): string[] {
  const start = docs.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`docs/protocol.md has no "${heading}" section`);
  const rest = docs.slice(start + heading.length + 2);
  const end = rest.search(/\n#{2,3} /);
  const section = end < 0 ? rest : rest.slice(0, end);
  return section
    .split('\n')
    .filter((line) => line.startsWith('|') && !/^\|\s*:?-{3}/.test(line))
    .slice(1)
    .map((line) => (line.split('|')[1] ?? '').trim().replace(/`/g, ''));
}

describe('docs/protocol.md', () => {
  it('lists exactly the error codes, with their HTTP status', () => {
    const rows = tableKeys('## Error codes');
    expect(new Set(rows)).toEqual(new Set(Object.keys(errorCodes)));
    for (const [code, { status }] of Object.entries(errorCodes)) {
      expect(docs).toMatch(new RegExp(`\\|\\s*\`${code}\`\\s*\\|\\s*${status}\\s*\\|`));
    }
  });

  it('lists exactly the close codes, with their names and actions', () => {
    const rows = tableKeys('## Close codes');
    expect(new Set(rows)).toEqual(new Set(Object.values(closeCodes).map((c) => String(c.code))));
    for (const [name, { code, action }] of Object.entries(closeCodes)) {
      expect(docs).toMatch(new RegExp(`\\|\\s*${code}\\s*\\|\\s*\`${name}\`\\s*\\|\\s*${action}`));
    }
  });

  it('lists exactly the client frame types', () => {
    expect(new Set(tableKeys('### Client frames'))).toEqual(new Set(clientFrameTypes));
  });

  it('lists exactly the server frame types', () => {
    expect(new Set(tableKeys('### Server frames'))).toEqual(new Set(serverFrameTypes));
  });
});
