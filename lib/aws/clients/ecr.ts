import { ECRClient } from '@aws-sdk/client-ecr';
import { requestHandler } from './timeouts.js';

export const ecr = new ECRClient({ requestHandler });
