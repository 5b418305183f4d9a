import { lambdaEndpointEnv, lambdaLine, localVolumeRoot } from '../../../lib/local/offline-lambda';

describe('lambdaEndpointEnv', () => {
  it("sends the functions' Lambda client to serverless-offline when no endpoint is named", () => {
    // Given a machine with no endpoint set; when npm start listens for Lambda on 3002
    // Then the functions invoke the volume functions where serverless-offline serves them
    expect(lambdaEndpointEnv({}, 3002)).toEqual({ AWS_ENDPOINT_URL_LAMBDA: 'http://127.0.0.1:3002' });
  });

  it("leaves the user's own Lambda endpoint alone", () => {
    expect(lambdaEndpointEnv({ AWS_ENDPOINT_URL_LAMBDA: 'http://127.0.0.1:4566' }, 3002)).toEqual({});
  });

  it('keeps Lambda on serverless-offline under an endpoint for every service, which has no volume functions', () => {
    // Given AWS_ENDPOINT_URL at an emulator (moto, say); the service's own variable wins over it
    // (AWS SDKs and Tools Reference Guide, "Service-specific endpoints")
    expect(lambdaEndpointEnv({ AWS_ENDPOINT_URL: 'http://127.0.0.1:5000' }, 3002)).toEqual({
      AWS_ENDPOINT_URL_LAMBDA: 'http://127.0.0.1:3002',
    });
  });

  it('ignores an empty variable, as the SDK does', () => {
    expect(lambdaEndpointEnv({ AWS_ENDPOINT_URL_LAMBDA: '', AWS_ENDPOINT_URL: '' }, 3002)).toEqual({
      AWS_ENDPOINT_URL_LAMBDA: 'http://127.0.0.1:3002',
    });
  });
});

describe('lambdaLine', () => {
  it('says volume archives run in serverless-offline when the functions invoke it', () => {
    expect(lambdaLine({ AWS_ENDPOINT_URL_LAMBDA: 'http://127.0.0.1:3002' }, 3002)).toBe(
      '  Lambda invoke   http://127.0.0.1:3002   (serverless-offline: every function, volume archives and restores among them)',
    );
  });

  it('names where volume archives are invoked otherwise', () => {
    expect(lambdaLine({ AWS_ENDPOINT_URL: 'http://127.0.0.1:5000' }, 3002)).toBe(
      '  Lambda invoke   http://127.0.0.1:3002   (serverless-offline: every function; volume archives and restores are invoked at http://127.0.0.1:5000)',
    );
    expect(lambdaLine({}, 3002)).toBe(
      '  Lambda invoke   http://127.0.0.1:3002   (serverless-offline: every function; volume archives and restores are invoked at AWS (usual credential chain))',
    );
  });
});

describe('localVolumeRoot', () => {
  it('keeps the volumes in the state directory, one directory each as Lambda mounts them under /mnt', () => {
    expect(localVolumeRoot('/work/.slipway/sandbox')).toBe('/work/.slipway/sandbox/volumes');
  });
});
