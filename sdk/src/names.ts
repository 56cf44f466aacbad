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

export function validateObjectName(name: unknown): string {
  if (typeof name !== 'string') throw bad('an object name must be a string');
  if (name.length === 0) throw bad('an object name must not be empty');
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_OBJECT_NAME_BYTES) throw bad(`object name is ${bytes} bytes; the limit is ${MAX_OBJECT_NAME_BYTES}`);
  if (!Buffer.from(name, 'utf8').toString('utf8').includes(name) || /[\uD800-\uDFFF]/.test(name.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ''))) {
    throw bad('object name must be valid UTF-8');
  }
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(name)) throw bad('object name must not contain NUL or control characters');
  if (name.startsWith('/')) throw bad(`object name "${name}" must not start with '/'`);
  if (name.includes('\\')) throw bad(`object name "${name}" must not contain '\\'`);
  if (name.includes('//')) throw bad(`object name "${name}" must not contain "//"`);
  if (name.split('/').some((seg) => seg === '..' || seg === '.')) throw bad(`object name "${name}" must not contain "." or ".." segments`);
  return name;
}
