//! A throwaway certificate authority for the TLS end-to-end tests: the test makes a CA, gives
//! Envoy its certificate as the trusted root, and has the mocks serve HTTPS with certificates it
//! issues (right or wrong name, expired) or with ones from a CA Envoy does not trust.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Why a certificate or a TLS server configuration could not be made.
#[derive(Debug)]
pub struct PkiError(String);

impl std::fmt::Display for PkiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "mock-upstreams pki: {}", self.0)
    }
}

impl std::error::Error for PkiError {}

impl From<rcgen::Error> for PkiError {
    fn from(e: rcgen::Error) -> Self {
        PkiError(e.to_string())
    }
}

impl From<rustls::Error> for PkiError {
    fn from(e: rustls::Error) -> Self {
        PkiError(e.to_string())
    }
}

/// How long an issued certificate is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// From 2000 to 4000: valid whenever the test runs.
    Current,
    /// 2020-2021 only: a verifier that checks dates refuses it.
    Expired,
}

/// A self-signed CA that issues server certificates.
pub struct TestCa {
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa").finish_non_exhaustive()
    }
}

/// A server certificate (leaf only) and its private key.
#[derive(Clone)]
pub struct ServerIdentity {
    cert: CertificateDer<'static>,
    key_pkcs8: Vec<u8>,
    cert_pem: String,
}

impl std::fmt::Debug for ServerIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerIdentity").finish_non_exhaustive()
    }
}

impl TestCa {
    /// A fresh CA named `common_name`.
    pub fn new(common_name: &str) -> Result<TestCa, PkiError> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.not_before = rcgen::date_time_ymd(2000, 1, 1);
        params.not_after = rcgen::date_time_ymd(4000, 1, 1);
        let key = KeyPair::generate()?;
        let cert = params.self_signed(&key)?;
        Ok(TestCa { cert, key })
    }

    /// The CA certificate in PEM, for Envoy's `trusted_ca`.
    pub fn cert_pem(&self) -> String {
        self.cert.pem()
    }

    /// A server certificate for the DNS name `dns_name`, signed by this CA.
    pub fn issue(&self, dns_name: &str, validity: Validity) -> Result<ServerIdentity, PkiError> {
        let mut params = CertificateParams::new(vec![dns_name.to_owned()])?;
        params.distinguished_name.push(DnType::CommonName, dns_name);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        (params.not_before, params.not_after) = match validity {
            Validity::Current => (
                rcgen::date_time_ymd(2000, 1, 1),
                rcgen::date_time_ymd(4000, 1, 1),
            ),
            Validity::Expired => (
                rcgen::date_time_ymd(2020, 1, 1),
                rcgen::date_time_ymd(2021, 1, 1),
            ),
        };
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.cert, &self.key)?;
        Ok(ServerIdentity {
            cert_pem: cert.pem(),
            cert: cert.der().clone(),
            key_pkcs8: key.serialize_der(),
        })
    }
}

impl ServerIdentity {
    /// The certificate in PEM.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// A rustls server configuration presenting this certificate (TLS 1.2 and 1.3, `ring`).
    pub(crate) fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, PkiError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_pkcs8.clone()));
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(vec![self.cert.clone()], key)?;
        Ok(Arc::new(config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issues_certificates_that_rustls_accepts() {
        let ca = TestCa::new("test ca").unwrap_or_else(|e| unreachable!("{e}"));
        assert!(ca.cert_pem().starts_with("-----BEGIN CERTIFICATE-----"));
        for validity in [Validity::Current, Validity::Expired] {
            let id = ca
                .issue("svc.internal.example.com", validity)
                .unwrap_or_else(|e| unreachable!("{e}"));
            assert!(id.cert_pem().contains("BEGIN CERTIFICATE"));
            assert!(id.server_config().is_ok());
        }
    }
}
