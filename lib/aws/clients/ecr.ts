import { ECRClient } from '@aws-sdk/client-ecr';

export const ecr = new ECRClient({});
