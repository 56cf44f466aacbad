// Bucket and object name rules (Greenfield's, plus the checks that keep names away from
// filesystem tricks). Names never become paths anywhere in insitu, but bad ones are refused early
// with a message that says what is wrong.

import { InsituError } from './errors.ts';

const bad = (message: string): InsituError => new InsituError('ERR_INVALID_NAME', message);

export function validateBucketName(name: unknown): string {
  if (typeof name !== 'string') throw bad('a bucket name must be a string');
  if (name.length < 3 || name.length > 63) throw bad(`bucket name "${name.slice(0, 70)}" must be 3 to 63 characters long`);
  if (!/^[a-z0-9-]+$/.test(name)) throw bad(`bucket name "${name}" may contain only lowercase letters, digits and '-'`);
  if (name.startsWith('-') || name.endsWith('-')) throw bad(`bucket name "${name}" must not start or end with '-'`);
  if (name.includes('--')) throw bad(`bucket name "${name}" must not contain "--"`);
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) throw bad(`bucket name "${name}" must not look like an IP address`);
  return name;
}

const MAX_OBJECT_NAME_BYTES = 1024;

// Characters that make one name look like another or hide part of it: C0/C1 controls and DEL,
// line and paragraph separators, format characters (\p{Cf}: bidirectional overrides and
// isolates, zero-width spaces and joiners, soft hyphen, BOM), Hangul fillers, variation
// selectors and the combining grapheme joiner (invisible, yet not Cf), and noncharacters.
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u3164\ufe00-\ufe0f\uffa0\ufff0-\ufff8\ufffe\uffff]/u;
/** Look-alikes of '/' and '\' that NFKC does not fold (fraction slash, division slash, set minus …). */
const SLASH_LOOKALIKES = /[\u2044\u2215\u2216\u2571\u2572\u27cb\u27cd\u29f5\u29f8\u29f9\u2cc6\u2f03\u3033\u3035\ufe68\uff0f\uff3c\u{1d23a}]/u;

const codePoint = (c: string): string => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * Greenfield's object name rules (1..1024 bytes of UTF-8, no "//", no "." or ".." segments), plus
 * what keeps two names from looking alike or hiding a path: the name must be in Unicode NFC (so
 * an NFD spelling cannot sit beside its NFC twin), must not start with '/', and must not contain
 * '\', control, bidirectional, zero-width or other invisible characters, or characters that look
 * like or fold (NFKC) to a slash or backslash; no segment may be or fold to "." or "..".
 * Each rule catches what no other rule does, so each has its own test.
 */
export function validateObjectName(name: unknown): string {
  if (typeof name !== 'string') throw bad('an object name must be a string');
  if (name.length === 0) throw bad('an object name must not be empty');
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_OBJECT_NAME_BYTES) throw bad(`object name is ${bytes} bytes; the limit is ${MAX_OBJECT_NAME_BYTES}`);
  if (/[\uD800-\uDFFF]/.test(name.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ''))) throw bad('object name must be valid UTF-8 (it holds a lone surrogate)');
  // Shown escaped, so a message never carries the invisible characters it complains about.
  const shown = JSON.stringify(name.slice(0, 200)).replace(new RegExp(INVISIBLE.source, 'gu'), (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
  const invisible = INVISIBLE.exec(name)?.[0];
  if (invisible) throw bad(`object name ${shown} must not contain control, bidirectional, zero-width or other invisible characters (${codePoint(invisible)})`);
  if (name.normalize('NFC') !== name) throw bad(`object name ${shown} must be in Unicode normal form NFC`);
  if (name.startsWith('/')) throw bad(`object name ${shown} must not start with '/'`);
  if (name.includes('\\')) throw bad(`object name ${shown} must not contain '\\'`);
  if (name.includes('//')) throw bad(`object name ${shown} must not contain "//"`);
  // Only non-ASCII characters are folded here: ASCII '/' and '\' have their own rules above.
  const lookalike = SLASH_LOOKALIKES.exec(name)?.[0] ?? [...name].find((c) => c > '\x7f' && /[/\\]/.test(c.normalize('NFKC')));
  if (lookalike) throw bad(`object name ${shown} must not contain characters that look like '/' or '\\' (${codePoint(lookalike)})`);
  for (const seg of name.split('/')) {
    if (seg === '.' || seg === '..') throw bad(`object name ${shown} must not contain "." or ".." segments`);
    const folded = seg.normalize('NFKC');
    if (folded !== seg && (folded === '.' || folded === '..')) throw bad(`object name ${shown} must not contain segments that look like "." or ".." (${JSON.stringify(seg)})`);
  }
  return name;
}
