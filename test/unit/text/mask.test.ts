import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { maskAppText, maskDeep } from '../../../lib/text/mask.js';

const ESC = '\u001b';
// Every C0/C1 control character except the newline.
const CONTROL_BUT_NEWLINE = /(?!\n)\p{Cc}/u;

describe('maskAppText', () => {
  it.each([
    ['colours', `${ESC}[1;31mFAILED${ESC}[0m`, 'FAILED'],
    ['a clear screen and cursor move', `${ESC}[2J${ESC}[1;1Hok`, 'ok'],
    ['an OSC 8 hyperlink', `${ESC}]8;;https://evil.example${ESC}\\click${ESC}]8;;${ESC}\\`, 'click'],
    ['a window title change', `${ESC}]0;owned\u0007done`, 'done'],
    ['a C1 CSI', '\u009b31mred', 'red'],
    ['carriage returns that overwrite a line', 'Deployed\rFAILED', 'Deployed\nFAILED'],
    ['bidi overrides', 'abc\u202edcba', 'abcdcba'],
  ])('removes terminal control: %s', (_what, input, expected) => {
    expect(maskAppText(input)).toBe(expected);
  });

  it.each([
    ['a URL password', 'postgres://app:s3cr@t@db:5432/app', 'postgres://app:***@db:5432/app'],
    ['NAME=value', 'DJANGO_SECRET_KEY=abc123 DEBUG=1', 'DJANGO_SECRET_KEY=*** DEBUG=1'],
    ['JSON', '{"db_password": "x\\"y", "user": "app"}', '{"db_password": "***", "user": "app"}'],
    ['a bearer token', 'Authorization: Bearer abcdefghijkl.mnop', 'Authorization: Bearer ***'],
    ['a SendGrid key', 'key SG.abcdefghijklmnopqrstuv.abcdefghijklmnopqrstuv', 'key ***'],
    ['an AWS access key id', 'AKIAIOSFODNN7EXAMPLE', '***'],
    [
      'a Sentry DSN',
      'https://0123456789abcdef0123456789abcdef@o1.ingest.sentry.io/1',
      'https://***@o1.ingest.sentry.io/1',
    ],
    [
      'a private key',
      '-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----',
      '*** (private key)',
    ],
  ])('masks %s', (_what, input, expected) => {
    expect(maskAppText(input)).toBe(expected);
  });

  it('keeps ordinary migration output as it was', () => {
    const text = "Migrations for 'main':\n  main/migrations/0042_detection_score.py\n    - Add field score";
    expect(maskAppText(text)).toBe(text);
  });

  it('never leaves an escape or control character but newline, whatever the input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => {
        expect(maskAppText(s)).not.toMatch(CONTROL_BUT_NEWLINE);
      }),
    );
  });
});

describe('maskDeep', () => {
  it('masks every string of a JSON value, keys included, and keeps other values', () => {
    expect(
      maskDeep({ reason: `${ESC}[31mx`, n: 3, list: ['TOKEN=abc'], nested: { [`k${ESC}[0m`]: null } }),
    ).toEqual({ reason: 'x', n: 3, list: ['TOKEN=***'], nested: { k: null } });
  });
});
