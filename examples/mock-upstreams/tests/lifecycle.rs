//! Starting, taking services down and up, and shutting down.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::ErrorKind;
use std::net::{TcpListener, TcpStream};

use common::{profile, token};
use mock_upstreams::{MockConfig, Mocks, Service, DEMO_CUSTOMER_ID};

fn refused(port: u16) -> bool {
    matches!(
        TcpStream::connect(("127.0.0.1", port)),
        Err(e) if e.kind() == ErrorKind::ConnectionRefused
    )
}

#[test]
fn ephemeral_ports_are_distinct_and_listening() {
    let mocks = Mocks::start(MockConfig::default()).unwrap();
    let ports: Vec<u16> = Service::ALL.iter().map(|&s| mocks.port(s)).collect();
    for (i, port) in ports.iter().enumerate() {
        assert_ne!(*port, 0);
        assert!(!ports[i + 1..].contains(port));
        assert!(TcpStream::connect(("127.0.0.1", *port)).is_ok());
    }
    assert_eq!(
        mocks.base_url(Service::Tickets),
        format!("http://127.0.0.1:{}", ports[3])
    );
}

#[test]
fn set_down_refuses_connections_and_set_up_serves_the_same_port() {
    let mocks = Mocks::start(MockConfig::default()).unwrap();
    let t = token(&mocks);
    let port = mocks.port(Service::Profile);
    let agent = common::agent();
    let url = common::url(&mocks, Service::Profile, "/api/v1/customers/CUST-992847");
    let bearer = format!("Bearer {t}");
    assert_eq!(
        agent
            .get(&url)
            .set("Authorization", &bearer)
            .call()
            .unwrap()
            .status(),
        200
    );

    mocks.set_down(Service::Profile, true);
    assert!(mocks.is_down(Service::Profile));
    assert!(refused(port));
    let pooled = agent.get(&url).set("Authorization", &bearer).call();
    assert!(
        matches!(pooled, Err(ureq::Error::Transport(_))),
        "{pooled:?}"
    );
    assert!(
        !refused(mocks.port(Service::Orders)),
        "other services stay up"
    );
    mocks.set_down(Service::Profile, true);

    mocks.set_down(Service::Profile, false);
    assert!(!mocks.is_down(Service::Profile));
    assert_eq!(mocks.port(Service::Profile), port);
    assert_eq!(profile(&mocks, DEMO_CUSTOMER_ID, &t).status, 200);
    mocks.set_down(Service::Profile, false);
    assert_eq!(profile(&mocks, DEMO_CUSTOMER_ID, &t).status, 200);
}

#[test]
fn tokens_survive_a_token_service_restart() {
    let mocks = Mocks::start(MockConfig::default()).unwrap();
    let t = token(&mocks);
    mocks.set_down(Service::Token, true);
    assert!(refused(mocks.port(Service::Token)));
    assert_eq!(profile(&mocks, DEMO_CUSTOMER_ID, &t).status, 200);
    mocks.set_down(Service::Token, false);
    token(&mocks);
}

#[test]
fn drop_frees_every_port() {
    let mocks = Mocks::start(MockConfig::default()).unwrap();
    let t = token(&mocks);
    profile(&mocks, DEMO_CUSTOMER_ID, &t);
    let ports = Service::ALL.map(|s| mocks.port(s));
    drop(mocks);
    for port in ports {
        assert!(refused(port));
        TcpListener::bind(("127.0.0.1", port)).unwrap();
    }
}

#[test]
fn fixed_ports_are_used_and_conflicts_are_reported() {
    let first = Mocks::start(MockConfig::default()).unwrap();
    let ports = Service::ALL.map(|s| first.port(s));
    drop(first);
    let fixed = Mocks::start(MockConfig {
        ports: Some(ports),
        ..MockConfig::default()
    })
    .unwrap();
    assert_eq!(Service::ALL.map(|s| fixed.port(s)), ports);
    let clash = Mocks::start(MockConfig {
        ports: Some(ports),
        ..MockConfig::default()
    });
    let err = clash.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrInUse);
    assert!(err.to_string().contains("token"), "{err}");
}
