//! `postgres://` and `postgresql://` URLs, as `--db` takes them.
//!
//! The password only ever leaves a [`Password`] through [`Password::expose`]: the settings'
//! Debug and Display, and every error here, leave it out.

use std::fmt;
use std::path::PathBuf;

/// The password of a URL. Its Debug shows that there is one, never what it is.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<hidden>)")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    /// Plain TCP.
    Disable,
    /// Encrypted, but the server's certificate is not checked.
    Require,
    /// Encrypted, and the server's chain must lead to `sslrootcert` and name the host.
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<SslMode, UrlError> {
        match value {
            "disable" => Ok(SslMode::Disable),
            "require" => Ok(SslMode::Require),
            "verify-full" => Ok(SslMode::VerifyFull),
            _ => Err(UrlError::SslMode),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Require => "require",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    pub user: String,
    pub password: Option<Password>,
    pub host: String,
    pub port: u16,
    pub dbname: String,
    pub sslmode: SslMode,
    pub sslrootcert: Option<PathBuf>,
}

pub const DEFAULT_PORT: u16 = 5432;

/// Why a URL was refused. The messages name the part at fault, never its value: the value
/// might be (or contain) the password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UrlError {
    Scheme,
    NoUser,
    NoHost,
    Port,
    /// A `%` not followed by two hex digits, or bytes that are not UTF-8, in this part.
    Encoding(&'static str),
    Parameter(String),
    SslMode,
    RootCertWithoutVerify,
    VerifyWithoutRootCert,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlError::Scheme => {
                f.write_str("a database URL starts with postgres:// or postgresql://")
            }
            UrlError::NoUser => {
                f.write_str("the database URL names no user (postgres://USER@HOST/DB)")
            }
            UrlError::NoHost => f.write_str("the database URL names no host"),
            UrlError::Port => {
                f.write_str("the database URL's port is not a number from 1 to 65535")
            }
            UrlError::Encoding(part) => write!(
                f,
                "the database URL's {part} is not valid percent-encoded UTF-8"
            ),
            UrlError::Parameter(name) => write!(
                f,
                "the database URL has an unknown parameter {name:?} (known: sslmode, sslrootcert)"
            ),
            UrlError::SslMode => f.write_str("sslmode must be disable, require or verify-full"),
            UrlError::RootCertWithoutVerify => {
                f.write_str("sslrootcert is only used with sslmode=verify-full")
            }
            UrlError::VerifyWithoutRootCert => {
                f.write_str("sslmode=verify-full needs sslrootcert=PATH")
            }
        }
    }
}

impl std::error::Error for UrlError {}

impl Settings {
    /// Whether `--db` names PostgreSQL rather than a SQLite file.
    pub fn is_url(db: &str) -> bool {
        strip_scheme(db).is_some()
    }

    /// Without `sslmode`, TLS is required: a URL that reaches another machine should not send
    /// the password in the clear because a parameter was forgotten.
    pub fn parse(url: &str) -> Result<Settings, UrlError> {
        let rest = strip_scheme(url).ok_or(UrlError::Scheme)?;
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        // The last `@`: an unencoded `@` in a password should not cut it in two.
        let (userinfo, hostport) = authority.rsplit_once('@').ok_or(UrlError::NoUser)?;
        let (user, password) = match userinfo.split_once(':') {
            Some((user, password)) => (user, Some(Password(decode(password, "password")?))),
            None => (userinfo, None),
        };
        let user = decode(user, "user")?;
        if user.is_empty() {
            return Err(UrlError::NoUser);
        }
        let (host, port) = split_host_port(hostport)?;
        let dbname = match decode(path, "database name")? {
            name if name.is_empty() => user.clone(),
            name => name,
        };
        let mut settings = Settings {
            user,
            password,
            host,
            port,
            dbname,
            sslmode: SslMode::Require,
            sslrootcert: None,
        };
        settings.apply_query(query)?;
        settings.check_tls()?;
        Ok(settings)
    }

    fn apply_query(&mut self, query: &str) -> Result<(), UrlError> {
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = decode(name, "parameter name")?;
            match name.as_str() {
                "sslmode" => self.sslmode = SslMode::parse(&decode(value, "sslmode")?)?,
                "sslrootcert" => {
                    self.sslrootcert = Some(PathBuf::from(decode(value, "sslrootcert")?))
                }
                _ => return Err(UrlError::Parameter(name)),
            }
        }
        Ok(())
    }

    fn check_tls(&self) -> Result<(), UrlError> {
        match (self.sslmode, &self.sslrootcert) {
            (SslMode::VerifyFull, None) => Err(UrlError::VerifyWithoutRootCert),
            (SslMode::Disable | SslMode::Require, Some(_)) => Err(UrlError::RootCertWithoutVerify),
            _ => Ok(()),
        }
    }
}

fn strip_scheme(url: &str) -> Option<&str> {
    url.strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
}

fn split_host_port(hostport: &str) -> Result<(String, u16), UrlError> {
    let (host, port) = if let Some(bracketed) = hostport.strip_prefix('[') {
        // An IPv6 address: its colons are not the port's.
        let (host, after) = bracketed.split_once(']').ok_or(UrlError::NoHost)?;
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':').ok_or(UrlError::Port)?)),
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (hostport, None),
        }
    };
    let host = decode(host, "host")?;
    if host.is_empty() {
        return Err(UrlError::NoHost);
    }
    let port = match port {
        None => DEFAULT_PORT,
        Some(port) => port
            .parse::<u16>()
            .ok()
            .filter(|port| *port != 0)
            .ok_or(UrlError::Port)?,
    };
    Ok((host, port))
}

fn decode(text: &str, part: &'static str) -> Result<String, UrlError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .filter(|hex| hex.iter().all(u8::is_ascii_hexdigit))
                .and_then(|hex| std::str::from_utf8(hex).ok())
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                .ok_or(UrlError::Encoding(part))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| UrlError::Encoding(part))
}

/// What may stand unencoded in a user name, database name or path when printed back.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The URL without its password, for the start-up line.
impl fmt::Display for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            encode(&self.host)
        };
        write!(
            f,
            "postgres://{}@{host}:{}/{}?sslmode={}",
            encode(&self.user),
            self.port,
            encode(&self.dbname),
            self.sslmode.as_str()
        )?;
        if let Some(root) = &self.sslrootcert {
            write!(f, "&sslrootcert={}", encode(&root.to_string_lossy()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cr%2Ft@x";

    #[test]
    fn a_full_url_gives_every_part() {
        let settings = Settings::parse(
            "postgresql://app:s3cr%2Ft@x@db.example.com:6432/switch%20board?sslmode=verify-full&sslrootcert=/etc/ca.pem",
        )
        .unwrap();
        assert_eq!(settings.user, "app");
        assert_eq!(
            settings.password.as_ref().map(Password::expose),
            Some("s3cr/t@x")
        );
        assert_eq!(settings.host, "db.example.com");
        assert_eq!(settings.port, 6432);
        assert_eq!(settings.dbname, "switch board");
        assert_eq!(settings.sslmode, SslMode::VerifyFull);
        assert_eq!(settings.sslrootcert, Some(PathBuf::from("/etc/ca.pem")));
    }

    #[test]
    fn defaults_are_port_5432_the_user_s_database_and_tls() {
        let settings = Settings::parse("postgres://app@localhost").unwrap();
        assert_eq!(settings.port, DEFAULT_PORT);
        assert_eq!(settings.dbname, "app");
        assert_eq!(settings.password, None);
        assert_eq!(settings.sslmode, SslMode::Require);
    }

    #[test]
    fn ipv6_hosts_keep_their_colons() {
        let settings = Settings::parse("postgres://app@[::1]:5433/db?sslmode=disable").unwrap();
        assert_eq!(settings.host, "::1");
        assert_eq!(settings.port, 5433);
        assert_eq!(
            settings.to_string(),
            "postgres://app@[::1]:5433/db?sslmode=disable"
        );
    }

    #[test]
    fn display_and_debug_leave_the_password_out() {
        let url = format!("postgres://app:{SECRET}@h/db?sslmode=require");
        let settings = Settings::parse(&url).unwrap();
        let shown = format!("{settings} {settings:?}");
        assert!(!shown.contains("s3cr"), "{shown}");
        assert_eq!(
            settings.to_string(),
            "postgres://app@h:5432/db?sslmode=require"
        );
        assert_eq!(Settings::parse(&settings.to_string()).unwrap().dbname, "db");
    }

    #[test]
    fn bad_urls_are_refused_without_echoing_the_password() {
        let cases = [
            (format!("mysql://app:{SECRET}@h/db"), UrlError::Scheme),
            (format!("postgres://:{SECRET}@h/db"), UrlError::NoUser),
            ("postgres://h/db".to_owned(), UrlError::NoUser),
            (format!("postgres://app:{SECRET}@/db"), UrlError::NoHost),
            (
                format!("postgres://app:{SECRET}@h:99999/db"),
                UrlError::Port,
            ),
            (format!("postgres://app:{SECRET}@h:0/db"), UrlError::Port),
            (
                "postgres://app:s3cr%zz@h/db".to_owned(),
                UrlError::Encoding("password"),
            ),
            (
                "postgres://app:s3cr%ff@h/db".to_owned(),
                UrlError::Encoding("password"),
            ),
            (
                "postgres://app:s3cr%@h/db".to_owned(),
                UrlError::Encoding("password"),
            ),
            (
                "postgres://app:s3cr%+1@h/db".to_owned(),
                UrlError::Encoding("password"),
            ),
            (
                format!("postgres://app:{SECRET}@h/db?sslmode=prefer"),
                UrlError::SslMode,
            ),
            (
                format!("postgres://app:{SECRET}@h/db?password=s3cr"),
                UrlError::Parameter("password".to_owned()),
            ),
            (
                format!("postgres://app:{SECRET}@h/db?sslmode=verify-full"),
                UrlError::VerifyWithoutRootCert,
            ),
            (
                format!("postgres://app:{SECRET}@h/db?sslrootcert=/ca.pem"),
                UrlError::RootCertWithoutVerify,
            ),
        ];
        for (url, expected) in cases {
            let error = Settings::parse(&url).unwrap_err();
            assert_eq!(error, expected, "{url}");
            let shown = format!("{error} {error:?}");
            assert!(!shown.contains("s3cr"), "{shown}");
        }
    }

    #[test]
    fn only_postgres_schemes_are_urls() {
        assert!(Settings::is_url("postgres://a@b"));
        assert!(Settings::is_url("postgresql://a@b"));
        assert!(!Settings::is_url("/var/lib/switchboard.db"));
        assert!(!Settings::is_url("postgres.db"));
    }
}
