// Package sts is a local stand-in for AWS STS, for end-to-end tests.
//
// It speaks the STS query protocol (API version 2011-06-15) closely enough that the AWS SDK
// for Go v2 STS client parses its answers exactly as it parses AWS's, success and error
// envelopes alike. Two actions are served:
//
//   - AssumeRoleWithWebIdentity: the web identity token is checked the way AWS checks it. The
//     issuer must be a registered OpenID Connect provider; the signature is verified against
//     the keys published at the issuer's jwks_uri (found through
//     /.well-known/openid-configuration, cached per issuer, fetched again once when a token
//     names an unknown key id); exp must be in the future; aud must include one of the
//     provider's client IDs; and the role's trust policy must allow the federated principal
//     with its StringEquals / StringLike conditions on <issuer>:sub and <issuer>:aud. Failures
//     carry AWS's own error codes and messages: InvalidIdentityToken, ExpiredTokenException,
//     AccessDenied, ValidationError.
//   - GetCallerIdentity: the request must be SigV4-signed with credentials this server issued.
//     The access key id and the session token must match, and the signature is recomputed
//     with the stored secret key.
//
// Issued credentials live in memory only. The server logs one line per request (action,
// role, outcome) and never logs the web identity token, a secret access key or a session
// token; none of them appears in an error message either.
//
// The configuration names the account, the OIDC providers and the roles; see Config.
package sts
