/**
 * Everything the CLI prints that comes from ZooKeeper (member records, journal entries, node names,
 * error messages quoting them) is written by whoever can write to ZooKeeper. A raw ESC sequence
 * could recolour, move the cursor or rewrite the terminal's title; a newline or carriage return
 * could forge a table row; bidi overrides could reorder what is shown. So every such character is
 * printed as a visible escape instead.
 */
// C0 controls, DEL, C1 controls (0x9b is a one-byte CSI), line/paragraph separators, bidi controls
// (U+061C too), and the invisible ones that make two different ids look the same (zero-width, BOM).
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;
const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function hex(c: string): string {
  const code = c.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** One line of text with every control character shown as an escape (\n, \x1b, \u202e...). */
export function escapeControl(text: string): string {
  return text.replace(UNSAFE, (c) => NAMED[c] ?? hex(c));
}

/**
 * JSON text safe for a terminal: JSON.stringify already escapes C0 controls; the rest (DEL, C1,
 * separators, bidi) can only occur inside strings, where \uXXXX is the same character to a parser.
 */
export function escapeJson(json: string): string {
  return json.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
