import { SNSClient } from '@aws-sdk/client-sns';
import { requestHandler } from './timeouts.js';

export const sns = new SNSClient({ requestHandler });
