import { describe, expect, it } from 'vitest';
import { causeMessage, describeCaught } from '../../../lib/workflow/caught-error.js';

describe('caught errors', () => {
  it("reads a Lambda task's Cause: the message, never the trace", () => {
    const cause = JSON.stringify({
      errorType: 'SecretInvalid',
      errorMessage: 'secret "db" is empty',
      trace: ['SecretInvalid: secret "db" is empty', '    at validateSecrets (/var/task/index.mjs:1:2)'],
    });
    expect(describeCaught({ Error: 'SecretInvalid', Cause: cause })).toBe(
      'SecretInvalid: secret "db" is empty',
    );
  });

  it('keeps a plain-text Cause, and says only the name when there is none', () => {
    expect(describeCaught({ Error: 'States.Timeout', Cause: 'Task timed out' })).toBe(
      'States.Timeout: Task timed out',
    );
    expect(describeCaught({ Error: 'Lambda.Unknown' })).toBe('Lambda.Unknown');
  });

  it('does not dump a structured Cause without a message', () => {
    expect(causeMessage(JSON.stringify({ statusCode: 500 }))).toBeUndefined();
    expect(causeMessage('[1,2]')).toBe('[1,2]');
  });
});
