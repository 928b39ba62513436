import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { requestHandler } from './timeouts.js';

export const secretsManager = new SecretsManagerClient({ requestHandler });
