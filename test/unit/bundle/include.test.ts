import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BundleInvalid } from '../../../lib/bundle/errors.js';
import { readIncludeDir, resolveIncludeDir } from '../../../lib/bundle/include.js';

let work: string;
let dir: string;

function write(path: string, content: string | Buffer): void {
  const file = join(dir, path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
}

beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'ebship-include-'));
  dir = join(work, 'eb');
  mkdirSync(dir);
});

afterEach(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('readIncludeDir', () => {
  it('reads .ebextensions, .platform and Procfile with bundle paths, and nothing else', () => {
    // Arrange
    write('.ebextensions/50-app.config', 'option_settings: {}\n');
    write('.platform/nginx/conf.d/timeout.conf', 'proxy_read_timeout 120;\n');
    write('.platform/hooks/postdeploy/01-warm.sh', '#!/bin/sh\n');
    write('Procfile', 'web: gunicorn app:app\n');
    write('README.md', 'notes\n');
    write('src/app.py', 'print("hi")\n');

    // Act
    const files = readIncludeDir(dir);

    // Assert
    expect(Object.keys(files)).toEqual([
      '.ebextensions/50-app.config',
      '.platform/hooks/postdeploy/01-warm.sh',
      '.platform/nginx/conf.d/timeout.conf',
      'Procfile',
    ]);
    expect(files['.platform/nginx/conf.d/timeout.conf']).toBe('proxy_read_timeout 120;\n');
  });

  it('refuses a symlink that escapes the include directory', () => {
    // Arrange
    writeFileSync(join(work, 'outside.config'), 'option_settings: {}\n');
    mkdirSync(join(dir, '.ebextensions'));
    symlinkSync(join(work, 'outside.config'), join(dir, '.ebextensions', 'evil.config'));

    // Act / Assert
    expect(() => readIncludeDir(dir)).toThrow(BundleInvalid);
    expect(() => readIncludeDir(dir)).toThrow(
      /"\.ebextensions\/evil\.config" .* resolves outside the include directory/,
    );
  });

  it('refuses a symlinked folder that escapes the include directory', () => {
    // Arrange
    mkdirSync(join(work, 'elsewhere'));
    writeFileSync(join(work, 'elsewhere', 'x.config'), 'x');
    symlinkSync(join(work, 'elsewhere'), join(dir, '.platform'));

    // Act / Assert
    expect(() => readIncludeDir(dir)).toThrow(/"\.platform" .* resolves outside the include directory/);
  });

  it('allows a symlink that stays inside the include directory', () => {
    // Arrange
    write('.ebextensions/50-app.config', 'option_settings: {}\n');
    symlinkSync(join(dir, '.ebextensions', '50-app.config'), join(dir, '.ebextensions', '51-same.config'));

    // Act
    const files = readIncludeDir(dir);

    // Assert
    expect(files['.ebextensions/51-same.config']).toBe('option_settings: {}\n');
  });

  it('reads a folder symlinked to a sibling (confighooks → hooks)', () => {
    // Arrange
    write('.platform/hooks/postdeploy/01-warm.sh', '#!/bin/sh\n');
    symlinkSync(join(dir, '.platform', 'hooks'), join(dir, '.platform', 'confighooks'));

    // Act
    const files = readIncludeDir(dir);

    // Assert
    expect(files['.platform/confighooks/postdeploy/01-warm.sh']).toBe('#!/bin/sh\n');
  });

  it('refuses a symlink loop', () => {
    // Arrange
    write('.platform/hooks/postdeploy/01-warm.sh', '#!/bin/sh\n');
    symlinkSync(join(dir, '.platform'), join(dir, '.platform', 'hooks', 'again'));

    // Act / Assert
    expect(() => readIncludeDir(dir)).toThrow(/"\.platform\/hooks\/again" .* is a symlink loop/);
  });

  it('refuses a file over 1 MiB, naming it', () => {
    // Arrange
    write('.platform/big.bin.txt', 'x'.repeat(1024 * 1024 + 1));

    // Act / Assert
    expect(() => readIncludeDir(dir)).toThrow(
      /"\.platform\/big\.bin\.txt" .* 1048577 bytes; the limit is 1048576/,
    );
  });

  it('refuses a file that is not UTF-8 text', () => {
    // Arrange
    write('.platform/logo.png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0xff, 0xfe, 0x00]));

    // Act / Assert
    expect(() => readIncludeDir(dir)).toThrow(/"\.platform\/logo\.png" .* is not UTF-8 text/);
  });

  it('says so when the directory does not exist', () => {
    // Act / Assert
    expect(() => readIncludeDir(join(work, 'missing'))).toThrow(/cannot read include directory .*ENOENT/);
  });
});

describe('resolveIncludeDir', () => {
  it('resolves an include directory inside the directory of ebship.yml', () => {
    expect(resolveIncludeDir(work, 'eb')).toBe(join(work, 'eb'));
  });

  it('refuses an include directory that is a symlink out of the repository', () => {
    const outside = mkdtempSync(join(tmpdir(), 'ebship-outside-'));
    try {
      symlinkSync(outside, join(work, 'elsewhere'));

      expect(() => resolveIncludeDir(work, 'elsewhere')).toThrow(BundleInvalid);
      expect(() => resolveIncludeDir(work, 'elsewhere')).toThrow(/outside the directory of ebship\.yml/);
      expect(() => resolveIncludeDir(join(work, 'eb'), '..')).toThrow(/outside the directory of ebship\.yml/);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });
});
