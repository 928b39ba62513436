import { fromEnv } from '@aws-sdk/credential-provider-env';

/**
 * Stands in for `@aws-sdk/credential-provider-node` in the Lambda bundles only (serverless.yml,
 * esbuild `alias`). Lambda puts the function role's credentials in AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (Lambda developer guide, "Defined runtime environment
 * variables"), so the rest of the SDK's default chain is never reached there. The CLI, the stand-in
 * and the tests keep the full chain.
 */
export const defaultProvider = (): ReturnType<typeof fromEnv> => fromEnv();
