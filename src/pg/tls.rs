//! TLS to the server by libpq's rules, so that a connection string means
//! what it means to `psql`: `sslmode` (`disable`, `allow`, `prefer`,
//! `require`, `verify-ca`, `verify-full`) and `sslrootcert` (a PEM file of
//! CA certificates, or `system`).
//!
//! | `sslmode` | TLS | certificate checked |
//! |---|---|---|
//! | `disable` | never | – |
//! | `allow`, `prefer` (default) | when the server offers it | only with `sslrootcert`: the chain |
//! | `require` | always | only with `sslrootcert`: the chain |
//! | `verify-ca` | always | the chain (to `sslrootcert`, else the Mozilla roots) |
//! | `verify-full` | always | the chain and the host name |
//!
//! Unlike libpq, a failed check is an error in every mode: a connection is
//! never retried in plain text after a TLS failure.
//!
//! As in libpq, there is no TLS over a unix socket (a host that starts with
//! `/`): `sslmode` is ignored there, and [`MakeTls`] never starts TLS for a
//! connection the driver gives no host name (a socket). With `sslmode=disable`
//! nothing of TLS is set up (not even `sslrootcert` read).

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use postgres::config::SslMode;
use postgres::tls::{MakeTlsConnect, TlsConnect};
use postgres::Socket;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_cert_signed_by_trust_anchor, verify_server_name};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// What is checked of the server's certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Check {
    /// Nothing: the connection is encrypted, the server not authenticated.
    Nothing,
    /// The chain up to one of the roots.
    Chain,
    /// The chain and the host name.
    ChainAndName,
}

/// The roots a chain must end in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Roots {
    /// The Mozilla roots (`webpki-roots`): `sslrootcert=system`, or none given.
    Public,
    /// A PEM file of CA certificates (`sslrootcert=FILE`).
    File(PathBuf),
}

/// The TLS rules of one connection string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Policy {
    pub(crate) mode: SslMode,
    pub(crate) check: Check,
    pub(crate) roots: Roots,
}

impl Policy {
    /// From the URL's `sslmode` and `sslrootcert` (decoded), libpq's way.
    pub(crate) fn new(sslmode: Option<&str>, root: Option<&str>) -> Result<Policy, String> {
        let roots = match root {
            None | Some("system") => Roots::Public,
            Some("") => return Err("sslrootcert= is empty".into()),
            Some(file) => Roots::File(PathBuf::from(file)),
        };
        // libpq: `sslrootcert=system` makes verify-full the default and
        // refuses the weaker modes.
        let sslmode = match (sslmode, root) {
            (None, Some("system")) => Some("verify-full"),
            (Some(m), Some("system")) if m != "verify-full" => {
                return Err(format!(
                    "sslmode={m} cannot be used with sslrootcert=system (use sslmode=verify-full)"
                ))
            }
            (m, _) => m,
        };
        let given = matches!(roots, Roots::File(_));
        let (mode, check) = match sslmode.unwrap_or("prefer") {
            "disable" => (SslMode::Disable, Check::Nothing),
            // libpq's `allow` tries plain text first; here it is `prefer`.
            "allow" | "prefer" if given => (SslMode::Prefer, Check::Chain),
            "allow" | "prefer" => (SslMode::Prefer, Check::Nothing),
            // libpq: with a root certificate, `require` checks as `verify-ca`.
            "require" if given => (SslMode::Require, Check::Chain),
            "require" => (SslMode::Require, Check::Nothing),
            "verify-ca" => (SslMode::Require, Check::Chain),
            "verify-full" => (SslMode::Require, Check::ChainAndName),
            other => {
                return Err(format!(
                    "sslmode={other} is not one of disable, allow, prefer, require, verify-ca, verify-full"
                ))
            }
        };
        Ok(Policy { mode, check, roots })
    }

    /// The roots, for messages.
    pub(crate) fn roots_name(&self) -> String {
        match &self.roots {
            Roots::Public => "the public (Mozilla) roots".into(),
            Roots::File(p) => format!("sslrootcert {}", p.display()),
        }
    }

    /// The rustls configuration (reads the root file).
    pub(crate) fn client_config(&self) -> Result<ClientConfig, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        match &self.roots {
            Roots::Public => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            Roots::File(p) => {
                let what = || format!("sslrootcert {}", p.display());
                let certs = CertificateDer::pem_file_iter(p)
                    .map_err(|e| format!("{}: {e}", what()))?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| format!("{}: {e}", what()))?;
                let (added, _) = roots.add_parsable_certificates(certs);
                if added == 0 {
                    return Err(format!("{}: no certificate in it (PEM expected)", what()));
                }
            }
        }
        let verifier = Verifier {
            check: self.check,
            roots: Arc::new(roots),
            algs: provider.signature_verification_algorithms,
        };
        Ok(ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS setup: {e}"))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth())
    }
}

impl Policy {
    /// What the driver is handed to make TLS connections: nothing with
    /// `sslmode=disable`, else rustls with [`Policy::client_config`].
    pub(crate) fn make_tls(&self) -> Result<MakeTls, String> {
        if self.mode == SslMode::Disable {
            return Ok(MakeTls(None));
        }
        let config = self.client_config()?;
        Ok(MakeTls(Some(
            tokio_postgres_rustls::MakeRustlsConnect::new(config),
        )))
    }
}

type Rustls = tokio_postgres_rustls::MakeRustlsConnect;
type RustlsConnect = <Rustls as MakeTlsConnect<Socket>>::TlsConnect;
type RustlsStream = <Rustls as MakeTlsConnect<Socket>>::Stream;

/// rustls for connections to a named host; none for a unix socket (the
/// driver names no host for one: `make_tls_connect("")`, which rustls
/// refused as an invalid DNS name, failing every socket connection, even
/// with `sslmode=disable`) and none at all with `sslmode=disable`.
#[derive(Clone)]
pub(crate) struct MakeTls(Option<Rustls>);

/// One connection's TLS: `None` when there is none to be had.
pub(crate) struct Connect(Option<RustlsConnect>);

impl MakeTlsConnect<Socket> for MakeTls {
    type Stream = RustlsStream;
    type TlsConnect = Connect;
    type Error = rustls::pki_types::InvalidDnsNameError;

    fn make_tls_connect(&mut self, hostname: &str) -> Result<Connect, Self::Error> {
        match &mut self.0 {
            Some(make) if !hostname.is_empty() => {
                MakeTlsConnect::<Socket>::make_tls_connect(make, hostname).map(|c| Connect(Some(c)))
            }
            _ => Ok(Connect(None)),
        }
    }
}

impl TlsConnect<Socket> for Connect {
    type Stream = RustlsStream;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<RustlsStream>> + Send>>;

    fn connect(self, stream: Socket) -> Self::Future {
        match self.0 {
            Some(c) => Box::pin(c.connect(stream)),
            // Not reached: the driver asks for TLS only with a host name,
            // and the server offers none over a unix socket.
            None => Box::pin(std::future::ready(Err(io::Error::other(
                "no TLS without a host name (a unix socket)",
            )))),
        }
    }
}

/// Checks the server's certificate as the policy says. The handshake's
/// signatures are always checked (against the certificate presented).
#[derive(Debug)]
struct Verifier {
    check: Check,
    roots: Arc<RootCertStore>,
    algs: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.check != Check::Nothing {
            let cert = ParsedCertificate::try_from(end_entity)?;
            verify_server_cert_signed_by_trust_anchor(
                &cert,
                &self.roots,
                intermediates,
                now,
                self.algs.all,
            )?;
            if self.check == Check::ChainAndName {
                verify_server_name(&cert, server_name)?;
            }
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(mode: Option<&str>, root: Option<&str>) -> Result<(SslMode, Check, Roots), String> {
        Policy::new(mode, root).map(|p| (p.mode, p.check, p.roots))
    }

    #[test]
    fn libpq_modes() {
        use Check::*;
        let file = Roots::File("ca.pem".into());
        let cases = [
            (None, None, SslMode::Prefer, Nothing, Roots::Public),
            (
                Some("disable"),
                None,
                SslMode::Disable,
                Nothing,
                Roots::Public,
            ),
            (Some("allow"), None, SslMode::Prefer, Nothing, Roots::Public),
            (
                Some("prefer"),
                None,
                SslMode::Prefer,
                Nothing,
                Roots::Public,
            ),
            (
                Some("require"),
                None,
                SslMode::Require,
                Nothing,
                Roots::Public,
            ),
            (
                Some("verify-ca"),
                None,
                SslMode::Require,
                Chain,
                Roots::Public,
            ),
            (
                Some("verify-full"),
                None,
                SslMode::Require,
                ChainAndName,
                Roots::Public,
            ),
            (None, Some("ca.pem"), SslMode::Prefer, Chain, file.clone()),
            (
                Some("require"),
                Some("ca.pem"),
                SslMode::Require,
                Chain,
                file.clone(),
            ),
            (
                Some("verify-full"),
                Some("ca.pem"),
                SslMode::Require,
                ChainAndName,
                file,
            ),
            (
                None,
                Some("system"),
                SslMode::Require,
                ChainAndName,
                Roots::Public,
            ),
        ];
        for (mode, root, m, c, r) in cases {
            assert_eq!(policy(mode, root), Ok((m, c, r)), "{mode:?} {root:?}");
        }
    }

    #[test]
    fn refusals_name_the_parameter() {
        for (mode, root, says) in [
            (Some("verify"), None, "sslmode=verify is not one of"),
            (
                Some("require"),
                Some("system"),
                "sslmode=require cannot be used with sslrootcert=system",
            ),
            (None, Some(""), "sslrootcert= is empty"),
        ] {
            let e = policy(mode, root).unwrap_err();
            assert!(e.contains(says), "{e}");
        }
    }

    #[test]
    fn a_root_file_without_certificates_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ca.pem");
        std::fs::write(&p, "nothing here\n").unwrap();
        let pol = Policy::new(Some("verify-full"), p.to_str()).unwrap();
        let e = pol.client_config().unwrap_err();
        assert!(e.contains("no certificate") && e.contains("ca.pem"), "{e}");
        let gone = Policy::new(None, dir.path().join("gone.pem").to_str()).unwrap();
        let e = gone.client_config().unwrap_err();
        assert!(e.contains("sslrootcert") && e.contains("gone.pem"), "{e}");
        // The public roots always load.
        assert!(Policy::new(Some("verify-full"), None)
            .unwrap()
            .client_config()
            .is_ok());
    }
}
