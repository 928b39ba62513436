import { SFNClient } from '@aws-sdk/client-sfn';
import { requestHandler } from './timeouts.js';

export const sfn = new SFNClient({ requestHandler });
