// Object name rules, one by one: each rule has a name only it refuses, and names that look odd
// but are fine (non-Latin scripts, NFC accents, dots inside segments) pass.

import test from 'ava';
import { validateObjectName, validateBucketName } from '@insitu/protocol';

const refused = (name: string): string => {
  try {
    validateObjectName(name);
    return 'accepted';
  } catch (e) {
    return `${(e as { code: string }).code}: ${(e as Error).message}`;
  }
};

test('each object name rule refuses what it is for, with ERR_INVALID_NAME and its own reason', (t) => {
  const table: [string, RegExp][] = [
    ['', /must not be empty/],
    ['x'.repeat(1025), /limit is 1024/],
    ['\u00e9'.repeat(513), /limit is 1024/],
    ['a\ud800b', /valid UTF-8/],
    ['a\u0000b', /invisible characters \(U\+0000\)/],
    ['a\u009bb', /invisible characters \(U\+009B\)/],
    ['a\u202db', /invisible characters \(U\+202D\)/],
    ['a\u2069b', /invisible characters \(U\+2069\)/],
    ['a\u200cb', /invisible characters \(U\+200C\)/],
    ['a\u00adb', /invisible characters \(U\+00AD\)/],
    ['a\u2029b', /invisible characters \(U\+2029\)/],
    ['a\ufe0fb', /invisible characters \(U\+FE0F\)/],
    ['A\u030a.txt', /normal form NFC/],
    ['/a', /start with '\/'/],
    ['a\\b', /contain '\\'/],
    ['a//b', /contain "\/\/"/],
    ['a\u29f8b', /look like '\/' or '\\' \(U\+29F8\)/],
    ['a\u2216b', /look like '\/' or '\\' \(U\+2216\)/],
    ['..', /"\." or "\.\." segments/],
    ['a/.', /"\." or "\.\." segments/],
    ['\u2025/a', /segments that look like/],
  ];
  for (const [name, why] of table) {
    const r = refused(name);
    t.true(r.startsWith('ERR_INVALID_NAME: '), `${JSON.stringify(name.slice(0, 20))}: ${r}`);
    t.regex(r, why, JSON.stringify(name.slice(0, 20)));
  }
  // Messages never carry the invisible characters they complain about.
  t.false(/[\u202e\u200b]/.test(refused('x\u202ey\u200b')));
});

test('names that only look unusual are accepted', (t) => {
  for (const name of ['a.txt', '.hidden', 'a..b', 'dir/', 'dir/sub/file.tar.gz', '\u65e5\u672c\u8a9e/\u30d5\u30a1\u30a4\u30eb.txt', 'caf\u00e9', '\u0645\u0644\u0641.txt', 'x'.repeat(1024), 'emoji-\u{1F600}', 'a b+c=d&e%20f']) {
    t.is(refused(name), 'accepted', JSON.stringify(name.slice(0, 30)));
  }
  t.is(validateBucketName('my-bucket'), 'my-bucket');
});
