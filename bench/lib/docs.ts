import * as fs from 'node:fs';
import * as path from 'node:path';

export const PERFORMANCE_DOC = path.join(__dirname, '..', '..', 'docs', 'performance.md');

const HEADER = `# Performance

Measured by the benchmarks in \`bench/\`; each run rewrites its own section below (between the
\`<!-- name:start -->\` / \`<!-- name:end -->\` markers) and its JSON file in \`bench/results/\`.
Numbers come from one machine and one run: read them as orders of magnitude and as comparisons
between systems measured side by side, not as guarantees.
`;

/** Replaces (or appends) the section `name` of docs/performance.md (or `file`), leaving the other sections alone. */
export function updateDocSection(name: string, markdown: string, file = PERFORMANCE_DOC, header = HEADER): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const block = `${start}\n${markdown.trim()}\n${end}`;
  let doc = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : header;
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  if (i !== -1 && j > i) doc = `${doc.slice(0, i)}${block}${doc.slice(j + end.length)}`;
  else doc = `${doc.trimEnd()}\n\n${block}\n`;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, doc);
  return file;
}
