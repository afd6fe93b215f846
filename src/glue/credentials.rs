//! Reads the caller's credentials: every `Authorization` and `X-API-Key` header (so a repeated one
//! is seen, not silently the first), and whether Envoy's `jwt_authn` filter verified a JWT for
//! this request (its payload in the request's dynamic metadata).

use proxy_wasm::hostcalls;

use super::count::{self, Kind};
use super::headers::RequestHeaders;
use super::host::allocated;
use crate::auth::{looks_merged, looks_merged_authorization};

/// The namespace `jwt_authn` writes its dynamic metadata under.
pub const JWT_AUTHN_NAMESPACE: &str = "envoy.filters.http.jwt_authn";

#[derive(Debug, Default)]
pub struct Credentials {
    pub authorization: Option<String>,
    pub api_key: Option<String>,
    pub repeated: bool,
    pub jwt_verified: bool,
}

/// `jwt_payload_key`: `Some` when the `jwt` scheme is accepted (the metadata is read only then).
pub fn read(headers: &RequestHeaders, jwt_payload_key: Option<&str>) -> Credentials {
    let mut creds = Credentials::default();
    let mut authorization = 0usize;
    let mut api_key = 0usize;
    // Lossily decoded, a value that is not UTF-8 simply matches no credential.
    for (name, value) in headers.all() {
        let slot = if name.eq_ignore_ascii_case("authorization") {
            authorization += 1;
            &mut creds.authorization
        } else if name.eq_ignore_ascii_case("x-api-key") {
            api_key += 1;
            &mut creds.api_key
        } else {
            continue;
        };
        slot.get_or_insert_with(|| String::from_utf8_lossy(value).into_owned());
    }
    creds.repeated = authorization > 1
        || api_key > 1
        || creds
            .authorization
            .as_deref()
            .is_some_and(looks_merged_authorization)
        || creds.api_key.as_deref().is_some_and(looks_merged);
    if let Some(key) = jwt_payload_key {
        // Only the filter's own metadata counts: a header the caller sends cannot reach it.
        let path = vec!["metadata", "filter_metadata", JWT_AUTHN_NAMESPACE, key];
        count::hit(Kind::GetProperty);
        let payload = hostcalls::get_property(path);
        allocated(matches!(payload, Ok(Some(_))));
        creds.jwt_verified = matches!(payload, Ok(Some(payload)) if !payload.is_empty());
    }
    creds
}
