//! Helpers shared by the integration tests: a blocking client that treats
//! every status as an answer, and token acquisition.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use mock_upstreams::{Mocks, Service, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET};

/// What came back for one request.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    pub www_authenticate: Option<String>,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

pub fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(10))
        .build()
}

/// Turns ureq's "error for 4xx/5xx" convention back into a plain answer.
pub fn answer(result: Result<ureq::Response, ureq::Error>) -> Result<Answer, Box<ureq::Transport>> {
    let response = match result {
        Ok(response) => response,
        Err(ureq::Error::Status(_, response)) => response,
        Err(ureq::Error::Transport(transport)) => return Err(Box::new(transport)),
    };
    Ok(Answer {
        status: response.status(),
        content_type: response.header("content-type").map(str::to_owned),
        www_authenticate: response.header("www-authenticate").map(str::to_owned),
        body: response.into_string().unwrap(),
    })
}

pub fn url(mocks: &Mocks, s: Service, path: &str) -> String {
    format!("http://127.0.0.1:{}{path}", mocks.port(s))
}

pub fn request_token(mocks: &Mocks, id: &str, secret: &str, grant: &str) -> Answer {
    answer(
        agent()
            .post(&url(mocks, Service::Token, "/oauth2/token"))
            .send_form(&[
                ("grant_type", grant),
                ("client_id", id),
                ("client_secret", secret),
                ("scope", "customers.read orders.read"),
            ]),
    )
    .unwrap()
}

pub fn token(mocks: &Mocks) -> String {
    let a = request_token(
        mocks,
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        "client_credentials",
    );
    assert_eq!(a.status, 200, "{}", a.body);
    a.json()["access_token"].as_str().unwrap().to_owned()
}

pub fn get(mocks: &Mocks, s: Service, path: &str, token: Option<&str>) -> Answer {
    let mut request = agent().get(&url(mocks, s, path));
    if let Some(token) = token {
        request = request.set("Authorization", &format!("Bearer {token}"));
    }
    answer(request.call()).unwrap()
}

pub fn profile(mocks: &Mocks, id: &str, token: &str) -> Answer {
    get(
        mocks,
        Service::Profile,
        &format!("/api/v1/customers/{id}"),
        Some(token),
    )
}
