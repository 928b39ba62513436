import 'aws-sdk-client-mock-vitest/extend';
import '../lib/polyfills.js';

process.env.AWS_REGION ??= 'us-east-1';
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
