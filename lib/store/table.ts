import { CreateTableCommand } from '@aws-sdk/client-dynamodb';

/**
 * Creates the deployment table as ebship's store expects it: `pk` + `sk` strings, on demand.
 * infra/table.yml declares the same keys for AWS; the stand-in and tests create it with this.
 */
export function createDeployTableCommand(tableName: string): CreateTableCommand {
  return new CreateTableCommand({
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
  });
}
