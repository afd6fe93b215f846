//! What a caller presents: any bytes as `Authorization` and `X-API-Key` values (Bearer, ApiKey,
//! Basic with arbitrary base64, merged values), any JWT verdict and repeat flag, against every
//! scheme at once. Never a panic; a caller is admitted only with a JWT the host verified or a
//! credential equal to an accepted one.

#![no_main]

use std::sync::OnceLock;

use cognigy_enrich::auth::{parse_basic_list, AuthFailure, Presented, Scheme, WebhookAuth};
use cognigy_enrich_fuzz::Bytes;
use libfuzzer_sys::fuzz_target;

const TOKENS: [&str; 2] = ["tok-1", "rotated token"];
const PAIRS: [&str; 2] = ["cognigy:pa:ss", "other:x"];

fn auth() -> &'static WebhookAuth {
    static A: OnceLock<WebhookAuth> = OnceLock::new();
    A.get_or_init(|| {
        let pairs = parse_basic_list(&PAIRS.join(",")).unwrap_or_default();
        WebhookAuth::new(
            vec![Scheme::Bearer, Scheme::ApiKey, Scheme::Basic, Scheme::Jwt],
            &TOKENS.join(","),
            pairs,
        )
    })
}

/// Whether `value` carries one accepted secret as its credential, by the plain reading.
fn carries_secret(value: &str) -> bool {
    let Some((scheme, credential)) = value.trim().split_once(' ') else {
        return false;
    };
    let credential = credential.trim();
    if scheme.eq_ignore_ascii_case("basic") {
        use base64::Engine as _;
        let cfg = base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent);
        let engine = base64::engine::GeneralPurpose::new(&base64::alphabet::STANDARD, cfg);
        return engine
            .decode(credential)
            .is_ok_and(|d| PAIRS.iter().any(|p| p.as_bytes() == d.as_slice()));
    }
    TOKENS.contains(&credential)
}

fn text(b: &mut Bytes<'_>) -> Option<String> {
    if !b.bool() {
        return None;
    }
    let prefix = *b.pick(&["", "Bearer ", "bearer ", "ApiKey ", "Basic ", "basic ", "Digest "]);
    Some(format!("{prefix}{}", String::from_utf8_lossy(b.chunk())))
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes::new(data);
    let repeated = b.u8() % 8 == 0;
    let jwt_verified = b.u8() % 4 == 0;
    let authorization = text(&mut b);
    let api_key = text(&mut b);
    let p = Presented {
        authorization: authorization.as_deref(),
        api_key: api_key.as_deref(),
        repeated,
        jwt_verified,
    };
    let verdict = auth().check_presented(&p);
    if repeated {
        assert_eq!(verdict, Err(AuthFailure::Repeated));
        return;
    }
    if verdict.is_ok() && !jwt_verified {
        let by_header = authorization.as_deref().is_some_and(carries_secret);
        let by_key = api_key
            .as_deref()
            .is_some_and(|k| TOKENS.contains(&k.trim()));
        assert!(by_header || by_key, "admitted {p:?}");
    }
    if jwt_verified {
        assert_eq!(verdict, Ok(()));
    }
});
