import { SSMClient } from '@aws-sdk/client-ssm';
import { requestHandler } from './timeouts.js';

export const ssm = new SSMClient({ requestHandler });
