import type { Context } from 'aws-lambda';
import * as v from 'valibot';
import { type Diagnostics, diagnosticsSchema } from '../lib/alerts/diagnostics.js';
import { requestTail, retrieveTail } from '../lib/alerts/log-tail.js';
import { eb } from '../lib/aws/clients/eb.js';
import { logs } from '../lib/aws/clients/logs.js';
import { parseEvent, parseState } from '../lib/workflow/input.js';

// One function for both ends of the wait (deploy.asl.yml): RequestLogTail passes the release,
// RetrieveLogTail the release and what the request returned. The tail comes from CloudWatch Logs
// when the environment streams there, else from EB's tail logs (lib/alerts/log-tail.ts).
const previous = v.object({ diagnostics: diagnosticsSchema });

export const handler = async (event: unknown, context?: Context): Promise<Diagnostics> => {
  const { release } = parseState(event, context, ['release']);
  if ((event as { diagnostics?: unknown }).diagnostics === undefined)
    return requestTail(eb, release, new Date());
  const { diagnostics } = parseEvent(previous, event, 'the log tail requested before');
  return retrieveTail(eb, release, diagnostics, undefined, logs);
};
