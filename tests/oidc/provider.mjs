// A real OpenID provider for the fleet's single sign-on tests: the certified `oidc-provider`
// package (the npm registry, pinned by package-lock.json), served over HTTPS.
//
//   node provider.mjs CONFIG.json
//
// CONFIG: {"issuer", "port", "cert_file", "key_file", "client": {"client_id", "client_secret",
// "redirect_uris"}, "accounts": {"<login>": {"groups": [...]}}}. Its login form is the package's
// development one (any password); what the tests check is the fleet's side of the flow: the
// authorization code with PKCE, the ID token's signature and nonce, the userinfo and its groups.
// It prints "listening" once it accepts connections.

import { readFileSync } from "node:fs";
import https from "node:https";

import Provider from "oidc-provider";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const accounts = config.accounts;

const provider = new Provider(config.issuer, {
  clients: [
    {
      client_id: config.client.client_id,
      client_secret: config.client.client_secret,
      redirect_uris: config.client.redirect_uris,
      response_types: ["code"],
      grant_types: ["authorization_code"],
      token_endpoint_auth_method: "client_secret_basic",
    },
  ],
  scopes: ["openid", "profile", "groups"],
  claims: {
    openid: ["sub"],
    profile: ["name", "preferred_username"],
    groups: ["groups"],
  },
  pkce: { methods: ["S256"], required: () => true },
  cookies: { keys: ["test-only-cookie-key"] },
  features: { devInteractions: { enabled: true } },
  async findAccount(_ctx, id) {
    const known = accounts[id];
    if (!known) {
      return undefined;
    }
    return {
      accountId: id,
      async claims() {
        return { sub: id, preferred_username: id, name: id, groups: known.groups };
      },
    };
  },
  // A first-party client: no consent screen, the grant is given at once.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) {
      return ctx.oidc.provider.Grant.find(grantId);
    }
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope("openid profile groups");
    await grant.save();
    return grant;
  },
});

const server = https.createServer(
  { cert: readFileSync(config.cert_file), key: readFileSync(config.key_file) },
  provider.callback(),
);
server.listen(config.port, "127.0.0.1", () => {
  console.log("listening");
});
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
