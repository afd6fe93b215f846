#!/usr/bin/env bash
# Mints a JWT for the demo identity provider of envoy/envoy-jwt.yaml (issuer
# https://idp.example.com/, audience cognigy-enrich), signed RS256 with the demo key
# envoy/demo-jwt/private-key.pem. That key is public (it is in the repository): demo only.
#   scripts/demo-jwt.sh [lifetime-seconds]     prints the token (default lifetime 600 s)
set -euo pipefail
cd "$(dirname "$0")/.."
ttl="${1:-600}"
key="${DEMO_JWT_KEY:-envoy/demo-jwt/private-key.pem}"
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
now="$(date +%s)"
header="$(printf '{"alg":"RS256","typ":"JWT","kid":"cognigy-enrich-demo"}' | b64url)"
payload="$(printf '{"iss":"https://idp.example.com/","aud":"cognigy-enrich","sub":"cognigy-demo-flow","iat":%d,"exp":%d}' \
  "$now" "$((now + ttl))" | b64url)"
sig="$(printf '%s.%s' "$header" "$payload" | openssl dgst -sha256 -sign "$key" -binary | b64url)"
printf '%s.%s.%s\n' "$header" "$payload" "$sig"
