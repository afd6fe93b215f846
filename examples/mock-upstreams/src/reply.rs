//! Response values the handlers produce, kept independent of hyper's
//! response type so handlers can be unit-tested without a server.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{HeaderName, HeaderValue, ALLOW, CONTENT_TYPE, WWW_AUTHENTICATE};
use hyper::{Response, StatusCode};

/// A complete answer to one request.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    /// Extra headers; `content-type: application/json` is added unless present.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Bytes,
}

impl Reply {
    pub fn into_response(self) -> Response<Full<Bytes>> {
        let mut response = Response::new(Full::new(self.body));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        for (name, value) in self.headers {
            headers.append(name, value);
        }
        if !headers.contains_key(CONTENT_TYPE) {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        response
    }
}

/// A JSON reply with no extra headers.
pub fn json(status: StatusCode, body: Bytes) -> Reply {
    Reply {
        status,
        headers: Vec::new(),
        body,
    }
}

/// A JSON reply whose body is a compile-time constant.
pub fn error(status: StatusCode, body: &'static str) -> Reply {
    json(status, Bytes::from_static(body.as_bytes()))
}

pub fn not_found() -> Reply {
    error(StatusCode::NOT_FOUND, r#"{"error":"not_found"}"#)
}

pub fn method_not_allowed(allow: &'static str) -> Reply {
    let mut reply = error(
        StatusCode::METHOD_NOT_ALLOWED,
        r#"{"error":"method_not_allowed"}"#,
    );
    reply.headers.push((ALLOW, HeaderValue::from_static(allow)));
    reply
}

pub fn invalid_token() -> Reply {
    let mut reply = error(StatusCode::UNAUTHORIZED, r#"{"error":"invalid_token"}"#);
    reply.headers.push((
        WWW_AUTHENTICATE,
        HeaderValue::from_static(r#"Bearer error="invalid_token""#),
    ));
    reply
}

pub fn bad_request(detail: &'static str) -> Reply {
    let body = serde_json::json!({ "error": "invalid_request", "detail": detail }).to_string();
    json(StatusCode::BAD_REQUEST, Bytes::from(body))
}

pub fn internal_error() -> Reply {
    error(StatusCode::INTERNAL_SERVER_ERROR, r#"{"error":"internal"}"#)
}

/// A reply built from caller-supplied parts, as faults carry them. Invalid
/// status codes become 500 and invalid headers are skipped, because a test
/// asking for nonsense should still get an answer it can observe.
pub fn custom(status: u16, headers: &[(String, String)], body: Bytes) -> Reply {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = headers
        .iter()
        .filter_map(|(name, value)| {
            Some((
                HeaderName::from_bytes(name.as_bytes()).ok()?,
                HeaderValue::from_str(value).ok()?,
            ))
        })
        .collect();
    Reply {
        status,
        headers,
        body,
    }
}
