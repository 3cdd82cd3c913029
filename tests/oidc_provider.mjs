// An OpenID Connect provider for the hub's tests: npm's oauth2-mock-server (real JWTs, discovery,
// PKCE), with one addition a real provider has and the mock lacks: who is signed in at the
// provider is per browser. GET /login-as?user=NAME stands for the provider's own login page (it
// sets a cookie); the authorization code, the tokens and /userinfo then carry that person's claims.
//
//   OIDC_PORT=...  OIDC_PEOPLE='{"omar": {"preferred_username": "omar", "groups": [...], ...}}'
//   OIDC_MODULE=file:///.../oauth2-mock-server/dist/index.mjs  node tests/oidc_provider.mjs
import http from "node:http";

const { OAuth2Issuer, OAuth2Service } = await import(process.env.OIDC_MODULE);
const people = JSON.parse(process.env.OIDC_PEOPLE);
const port = Number(process.env.OIDC_PORT);

const issuer = new OAuth2Issuer();
issuer.url = `http://127.0.0.1:${port}`;
await issuer.keys.generate("RS256");
const service = new OAuth2Service(issuer);
const byCode = new Map();
const byToken = new Map();

function signedIn(req) {
  const found = (req.headers.cookie || "").split(/;\s*/).find((c) => c.startsWith("who="));
  return found ? decodeURIComponent(found.slice(4)) : null;
}

service.on("beforeAuthorizeRedirect", (redirect, req) => {
  const who = signedIn(req);
  if (!who || !(who in people)) {
    redirect.url.searchParams.delete("code");
    redirect.url.searchParams.set("error", "access_denied");
    return;
  }
  byCode.set(redirect.url.searchParams.get("code"), who);
});
service.on("beforeTokenSigning", (token, req) => {
  const who = byCode.get(req.body && req.body.code);
  if (who) Object.assign(token.payload, people[who], { sub: who });
});
service.on("beforeResponse", (response, req) => {
  const who = byCode.get(req.body && req.body.code);
  if (who) byToken.set(response.body.access_token, who);
});
service.on("beforeUserinfo", (response, req) => {
  const who = byToken.get((req.headers.authorization || "").replace(/^Bearer\s+/i, ""));
  response.body = who ? { sub: who, ...people[who] } : { error: "invalid_token" };
  response.statusCode = who ? 200 : 401;
});

const server = http.createServer((req, res) => {
  if (req.url.startsWith("/login-as")) {
    const user = new URL(req.url, issuer.url).searchParams.get("user") || "";
    res.writeHead(200, { "Set-Cookie": `who=${encodeURIComponent(user)}; Path=/; HttpOnly`, "Content-Type": "text/plain" });
    res.end(`signed in at the provider as ${user}\n`);
    return;
  }
  service.requestHandler(req, res);
});
server.listen(port, "127.0.0.1", () => console.log(`OpenID Connect provider at ${issuer.url}`));
