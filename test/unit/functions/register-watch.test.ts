import { describe, expect, it } from 'vitest';
import { handler } from '../../../functions/register-watch.js';
import { deploy, lambdaContext, release } from './fixtures.js';

const context = lambdaContext('RegisterWatch');

describe('register-watch handler (WaitForHealthEvent)', () => {
  it.each(['healthy', 'rollback', 'abort', 'timeout', 'overridden'])(
    'refuses to wait after a look whose verdict (%s) ends the watch: WatchEnded, which its Catch routes',
    async (verdict) => {
      const registration = handler(
        { taskToken: 'AQCtoken', phase: 'deploy', release: release(), watch: deploy, verdict },
        context,
      );

      await expect(registration).rejects.toMatchObject({ name: 'WatchEnded' });
    },
  );
});
