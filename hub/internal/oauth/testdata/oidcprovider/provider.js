// A real OpenID Connect provider (panva's oidc-provider) for dpc-hub's
// OAuth end-to-end tests. It serves one confidential client that must use
// PKCE (S256), with the development login and consent pages (any login and
// password sign in; the login is the subject).
//
//   node provider.js CLIENT_ID CLIENT_SECRET REDIRECT_PATH [PORT]
//
// REDIRECT_PATH is the hub's callback path, e.g. /oauth/corp/callback. The
// client is a "native" one whose redirect URI is http://127.0.0.1PATH: per
// RFC 8252 §7.3 the provider accepts it at any port, so the hub may bind a
// free port after the provider started. Once listening the provider prints
// "oidc-provider listening: ISSUER" on stdout; it stops on SIGTERM or when
// its stdin closes (the test process died).
import http from 'node:http';
import Provider from 'oidc-provider';

const [clientId, clientSecret, redirectPath, port = '0'] = process.argv.slice(2);
if (!clientId || !clientSecret || !redirectPath?.startsWith('/')) {
  console.error('usage: node provider.js CLIENT_ID CLIENT_SECRET REDIRECT_PATH [PORT]');
  process.exit(2);
}

const server = http.createServer();
server.listen(Number(port), '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      application_type: 'native',
      redirect_uris: [`http://127.0.0.1${redirectPath}`],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    pkce: { required: () => true },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    async findAccount(_ctx, sub) {
      return {
        accountId: sub,
        async claims() {
          return { sub, email: `${sub}@example.test`, email_verified: true, name: `Test User ${sub}` };
        },
      };
    },
    // The hub logs the provider's error pages; keep them readable.
    renderError(ctx, out) {
      ctx.type = 'text/plain';
      ctx.body = `oidc-provider error: ${out.error}: ${out.error_description ?? ''}`;
    },
  });
  provider.on('server_error', (_ctx, err) => console.error('oidc-provider server_error:', err));
  server.on('request', provider.callback());
  console.log(`oidc-provider listening: ${issuer}`);
});

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
