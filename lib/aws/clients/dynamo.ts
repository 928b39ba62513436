import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { requestHandler } from './timeouts.js';

// Marked pure: a bundle that imports this module but never sends through the client leaves it out
// (esbuild keeps any unannotated `new` at module scope), and its cold start does not build it.
export const dynamo = /* @__PURE__ */ DynamoDBDocumentClient.from(
  /* @__PURE__ */ new DynamoDBClient({ requestHandler }),
  {
    marshallOptions: { removeUndefinedValues: true },
  },
);
