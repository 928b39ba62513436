import { ECRClient } from '@aws-sdk/client-ecr';
import { requestHandler } from './timeouts.js';

// Marked pure: a bundle that imports this module but never sends through the client leaves it out
// (esbuild keeps any unannotated `new` at module scope), and its cold start does not build it.
export const ecr = /* @__PURE__ */ new ECRClient({ requestHandler });
