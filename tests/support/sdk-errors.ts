/**
 * AWS SDK clients under aws-sdk-client-mock, and the service exceptions to reject their commands
 * with, built as the SDK's deserializers build them: for the adapters' error paths no emulator has.
 */
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';

/** A fixed region and static keys: the SDK never looks for credentials on the machine. */
export const MOCK_AWS_CLIENT_CONFIG = {
  region: 'eu-west-1',
  credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
} as const;

/** A new client of the given class, and the mock that answers its `send`. */
export function mockAwsClient<C extends object>(
  Client: new (config: typeof MOCK_AWS_CLIENT_CONFIG) => C,
): { client: C; mock: AwsClientStub<C> } {
  const client = new Client(MOCK_AWS_CLIENT_CONFIG);
  return { client, mock: mockClient(client as never) as AwsClientStub<C> };
}

const metadata = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } });

/** An exception the service models (NoSuchKey, ResourceNotFoundException, …), as an answer with `status` gives it. */
export function awsException<E>(
  Exception: new (options: { message: string; $metadata: { httpStatusCode: number } }) => E,
  message: string,
  status: number,
): E {
  return new Exception({ message, ...metadata(status) });
}

/**
 * An exception the SDK has no class for: the service's base exception under `name` (`UnknownError`
 * where it cannot tell, as for a HEAD, whose answer has no body). A status of 500 or more is the
 * server's fault, any other the client's, as the SDK decides.
 */
export function awsServiceException<E>(
  Base: new (options: {
    name: string;
    $fault: 'client' | 'server';
    message?: string;
    $metadata: { httpStatusCode: number };
  }) => E,
  name: string,
  status: number,
  message?: string,
): E {
  return new Base({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    ...(message === undefined ? {} : { message }),
    ...metadata(status),
  });
}
