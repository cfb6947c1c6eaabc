//! The command line: every flag also reads a `SWITCHBOARD_*` environment variable. Each
//! command takes only the flags that apply to it, so its `--help` lists no others.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{default_key_file, Config, TlsFiles};
use crate::domain::account::{Email, UnixTime};
use crate::domain::event::parse_iso8601;
use crate::domain::secret::Secret;
use crate::http::client::TrustedProxies;
use crate::store::SyncMode;

const SERVE_AFTER_HELP: &str = "Environment only (never a flag, so it stays out of `ps`):\n  \
    SWITCHBOARD_ADMIN_PASSWORD  the first administrator's password, used on the first start \
    only [default: random, printed once]\n\nRUST_LOG sets the log level (default: info).";

#[derive(Parser, Debug)]
#[command(
    name = "switchboard",
    version,
    about = "Serves the Restcomm-compatible Accounts API from an embedded SQLite database.",
    after_help = SERVE_AFTER_HELP
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    /// The SQLite database file, created on first start, or a PostgreSQL database's
    /// postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=...] URL, with its key file named
    #[arg(
        long,
        global = true,
        env = "SWITCHBOARD_DB",
        value_name = "PATH|URL",
        default_value = "./switchboard.db"
    )]
    db: PathBuf,

    #[command(flatten)]
    serve: ServeArgs,
}

/// What to do; serving is the default.
#[derive(Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Serve the API (the default)
    #[command(after_help = SERVE_AFTER_HELP)]
    Serve(ServeArgs),
    /// Copy the database consistently, also while the server runs and takes writes. The key
    /// file is not part of the copy: back it up separately
    Backup {
        /// Where to write the copy; an existing file there is replaced only once the new copy
        /// is complete
        path: PathBuf,
    },
    /// Check the whole database file for damage (SQLite's integrity check), with the server
    /// stopped or running; reads only. Exits 0 when the file is intact
    Check,
    /// Copy a whole installation (every account with its password hash and token salt, and
    /// the key check value) from one database into a new, empty one, SQLite or PostgreSQL, in
    /// one transaction. Stop the servers on the source first for a copy that misses no write.
    /// The key file is not needed here, but the copy must be served with the same key file:
    /// then every Sid, password and AuthToken works unchanged
    Copy {
        /// The database to copy: a SQLite file or a postgres:// URL
        #[arg(long, value_name = "PATH|URL")]
        from: PathBuf,
        /// The new, empty database to fill (a missing SQLite file is created); one that holds
        /// accounts is refused and left as it was
        #[arg(long, value_name = "PATH|URL")]
        to: PathBuf,
        /// Takes the place of the global --db, out of this help: given, it is refused, since
        /// it would be unclear which side it names
        #[arg(long = "db", hide = true, value_name = "PATH|URL")]
        db: Option<PathBuf>,
    },
    /// Recovery commands, run on the server's machine
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Bring accounts over from another system into a new, empty database
    #[command(subcommand)]
    Import(ImportCommand),
    /// The audit trail's upkeep, run on the server's machine
    #[command(subcommand)]
    Events(EventsCommand),
}

#[derive(Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum ImportCommand {
    /// Import every account of a Restcomm-Connect installation, from its HSQLDB script
    /// (restcomm.script) or a mysqldump of its restcomm_accounts table, into a new database
    /// (--db), in one transaction. Sids, parents, emails, names, roles, statuses and dates are
    /// kept; each account's old AuthToken and password keep working until its password is
    /// next set. The key file is created as on a first start. Nothing is written when any
    /// row is refused: every offending row is named with its line
    Restcomm {
        /// The HSQLDB script or the mysqldump file
        file: PathBuf,
        #[command(flatten)]
        key: KeyFileArg,
    },
}

#[derive(Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum EventsCommand {
    /// Delete every audit event dated before DATE, with the server stopped or running. The
    /// pruning is itself recorded as an event (events.pruned), in the same transaction
    Prune {
        /// ISO 8601, in UTC unless it names its zone: 2024-01-01 or 2024-01-01T00:00:00Z
        #[arg(long, value_name = "DATE")]
        before: String,
        #[command(flatten)]
        key: KeyFileArg,
    },
}

#[derive(Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum AdminCommand {
    /// Set a new password for an account (a locked-out administrator, say), with the server
    /// stopped or running. The password is typed at a prompt on a terminal, read from the
    /// first line of standard input, or taken from SWITCHBOARD_RESET_PASSWORD; never from the
    /// command line
    #[command(
        after_help = "Environment only (never a flag, so it stays out of `ps`):\n  \
            SWITCHBOARD_RESET_PASSWORD  the new password, instead of the prompt or standard input"
    )]
    ResetPassword {
        /// The account's email address
        email: String,
        #[command(flatten)]
        key: KeyArgs,
    },
    /// Make a new key file for a database whose key file is lost, with the server stopped.
    /// Every account is kept, but every AuthToken changes and no password works any more:
    /// the command prints the steps to get back in. It never replaces an existing key file
    NewKey {
        #[command(flatten)]
        key: KeyFileArg,
    },
}

/// The flags of a command that checks or sets passwords.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct KeyArgs {
    #[command(flatten)]
    key: KeyFileArg,

    /// bcrypt cost for password hashes (4 to 31)
    #[arg(long, env = "SWITCHBOARD_BCRYPT_COST", value_name = "N", default_value_t = Config::DEFAULT_BCRYPT_COST,
          value_parser = clap::value_parser!(u32).range(4..=31))]
    bcrypt_cost: u32,
}

#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct KeyFileArg {
    /// The installation key that AuthTokens derive from [default: the database path + .key]
    #[arg(long, env = "SWITCHBOARD_KEY_FILE", value_name = "PATH")]
    key_file: Option<PathBuf>,
}

#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct ServeArgs {
    /// Where to listen for HTTP, e.g. 127.0.0.1:8080 or 0.0.0.0:8080
    #[arg(
        long,
        env = "SWITCHBOARD_LISTEN",
        value_name = "ADDR:PORT",
        default_value = Config::DEFAULT_LISTEN,
        value_parser = listen_address
    )]
    listen: String,

    #[command(flatten)]
    key: KeyArgs,

    /// The first administrator's email address, used on the first start only
    #[arg(long, env = "SWITCHBOARD_ADMIN_EMAIL", value_name = "EMAIL", default_value = Config::DEFAULT_ADMIN_EMAIL)]
    admin_email: String,

    /// HTTP worker threads [default: the number of cores]
    #[arg(long, env = "SWITCHBOARD_WORKERS", value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=1024))]
    workers: Option<u16>,

    /// full: an answered write survives power loss; normal: faster, may lose the last writes
    /// on power loss
    #[arg(long, env = "SWITCHBOARD_SYNC", value_name = "MODE", default_value = "full",
          value_parser = ["full", "normal"])]
    sync: String,

    /// Serve HTTPS with this PEM certificate chain (needs --tls-key) [default: plain HTTP]
    #[arg(
        long,
        env = "SWITCHBOARD_TLS_CERT",
        value_name = "PATH",
        requires = "tls_key"
    )]
    tls_cert: Option<PathBuf>,

    /// The PEM private key of --tls-cert
    #[arg(
        long,
        env = "SWITCHBOARD_TLS_KEY",
        value_name = "PATH",
        requires = "tls_cert"
    )]
    tls_key: Option<PathBuf>,

    /// Reverse proxies to believe: a request from one of these ranges is attributed (in
    /// throttling and the logs) to the rightmost X-Forwarded-For address that is not itself a
    /// trusted proxy; from any other peer, X-Forwarded-For is ignored. Never 0.0.0.0/0
    /// [default: none]
    #[arg(
        long,
        env = "SWITCHBOARD_TRUSTED_PROXY",
        value_name = "CIDR[,CIDR...]",
        value_parser = TrustedProxies::parse
    )]
    trusted_proxy: Option<TrustedProxies>,

    /// Serve Prometheus metrics at /metrics on this address of its own (never on the API's
    /// listener), e.g. 127.0.0.1:9090 [default: off]
    #[arg(
        long,
        env = "SWITCHBOARD_METRICS_LISTEN",
        value_name = "ADDR:PORT",
        value_parser = listen_address
    )]
    metrics_listen: Option<String>,
}

/// What the executable was asked to do, its flags already folded into a [`Config`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Task {
    Serve,
    Backup(PathBuf),
    Check,
    Copy { from: PathBuf, to: PathBuf },
    ResetPassword(String),
    NewKey,
    ImportRestcomm(PathBuf),
    PruneEvents(UnixTime),
}

impl Cli {
    /// Parses the arguments. Serving is the default, so its flags come without a command or
    /// after `serve`; before another command they would be silently ignored, so they are
    /// refused there (their environment variables may stay set: a service's environment
    /// file is shared with the commands run beside it).
    pub fn try_parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let mut command = <Cli as clap::CommandFactory>::command();
        let matches = command.try_get_matches_from_mut(args)?;
        if let Some(("copy", copy)) = matches.subcommand() {
            if copy.value_source("db") == Some(clap::parser::ValueSource::CommandLine) {
                let message = "copy names its databases with --from and --to, not --db";
                return Err(command.error(clap::error::ErrorKind::ArgumentConflict, message));
            }
        }
        if let Some((name, _)) = matches.subcommand() {
            if let Some(flag) = serve_flag_given(&matches) {
                let message = if name == "serve" {
                    format!("--{flag} goes after `serve`, or leave `serve` out")
                } else {
                    format!("--{flag} is for serving: give it without a command, or after `serve`, not before `{name}`")
                };
                return Err(command.error(clap::error::ErrorKind::ArgumentConflict, message));
            }
        }
        <Cli as clap::FromArgMatches>::from_arg_matches(&matches)
    }

    pub fn try_parse() -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::env::args_os())
    }

    pub fn into_config(self) -> Result<(Task, Config), String> {
        let mut config = Config::new(self.db);
        let task = match self.command {
            None => serve_config(&mut config, self.serve)?,
            Some(Command::Serve(args)) => serve_config(&mut config, args)?,
            Some(Command::Backup { path }) => Task::Backup(path),
            Some(Command::Check) => Task::Check,
            Some(Command::Copy { from, to, .. }) => Task::Copy { from, to },
            Some(Command::Admin(AdminCommand::ResetPassword { email, key })) => {
                key_config(&mut config, key)?;
                Task::ResetPassword(email)
            }
            Some(Command::Admin(AdminCommand::NewKey { key })) => {
                key_file_config(&mut config, key)?;
                Task::NewKey
            }
            Some(Command::Import(ImportCommand::Restcomm { file, key })) => {
                key_file_config(&mut config, key)?;
                Task::ImportRestcomm(file)
            }
            Some(Command::Events(EventsCommand::Prune { before, key })) => {
                key_file_config(&mut config, key)?;
                let before = parse_iso8601(&before, "--before")
                    .map_err(|invalid| format!("--before {}", invalid.reason))?;
                Task::PruneEvents(before)
            }
        };
        Ok((task, config))
    }
}

/// The first serving flag typed on the command line before the command.
fn serve_flag_given(matches: &clap::ArgMatches) -> Option<String> {
    let serve = <ServeArgs as Args>::augment_args(clap::Command::new("serve"));
    let given = serve
        .get_arguments()
        .map(|arg| arg.get_id().as_str())
        .find(|id| matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine))
        .map(|id| id.replace('_', "-"));
    given
}

fn key_config(config: &mut Config, args: KeyArgs) -> Result<(), String> {
    key_file_config(config, args.key)?;
    config.bcrypt_cost = args.bcrypt_cost;
    Ok(())
}

/// A URL has no folder to keep the key beside, so a PostgreSQL database names its key file.
fn key_file_config(config: &mut Config, args: KeyFileArg) -> Result<(), String> {
    config.key_file = match args.key_file {
        Some(path) => path,
        None if crate::store::is_url(&config.db_path) => {
            return Err("--key-file is required when --db is a PostgreSQL URL".into())
        }
        None => default_key_file(&config.db_path),
    };
    Ok(())
}

fn serve_config(config: &mut Config, args: ServeArgs) -> Result<Task, String> {
    key_config(config, args.key)?;
    config.admin_email =
        Email::parse(&args.admin_email).map_err(|e| format!("--admin-email: {}", e.reason))?;
    config.listen = args.listen;
    config.admin_password = std::env::var("SWITCHBOARD_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
        .map(Secret::from);
    if let Some(workers) = args.workers {
        config.workers = usize::from(workers);
    }
    config.sync = if args.sync == "normal" {
        SyncMode::Normal
    } else {
        SyncMode::Full
    };
    if let (Some(cert), Some(key)) = (args.tls_cert, args.tls_key) {
        config.tls = Some(TlsFiles { cert, key });
    }
    config.trusted_proxies = args.trusted_proxy.unwrap_or_default();
    config.metrics_listen = args.metrics_listen.filter(|address| !address.is_empty());
    Ok(Task::Serve)
}

/// `ADDR:PORT` with both parts, checked before anything starts: a bare port or a missing
/// address would otherwise surface later as an unclear failure to listen.
fn listen_address(value: &str) -> Result<String, String> {
    let valid = value.parse::<SocketAddr>().is_ok()
        || value.rsplit_once(':').is_some_and(|(host, port)| {
            port.parse::<u16>().is_ok()
                && !host.is_empty()
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        });
    if valid {
        Ok(value.to_owned())
    } else {
        Err("expected ADDR:PORT, an address and a port, e.g. 127.0.0.1:8080".into())
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("switchboard").chain(args.iter().copied()))
    }

    fn task(args: &[&str]) -> (Task, Config) {
        parse(args).unwrap().into_config().unwrap()
    }

    #[test]
    fn serving_is_the_default_and_its_flags_come_alone_or_after_serve() {
        assert_eq!(task(&[]).0, Task::Serve);
        let (task_, config) = task(&["--listen", "127.0.0.1:9"]);
        assert_eq!(
            (task_, config.listen.as_str()),
            (Task::Serve, "127.0.0.1:9")
        );
        assert_eq!(
            task(&["serve", "--listen", "127.0.0.1:9"]).1.listen,
            "127.0.0.1:9"
        );
        let (task_, config) = task(&["backup", "copy.db", "--db", "live.db"]);
        assert_eq!(task_, Task::Backup("copy.db".into()));
        assert_eq!(config.db_path, PathBuf::from("live.db"));
        assert_eq!(task(&["--db", "live.db", "check"]).0, Task::Check);
        assert_eq!(
            task(&["copy", "--from", "a.db", "--to", "postgres://u@h/d"]).0,
            Task::Copy {
                from: "a.db".into(),
                to: "postgres://u@h/d".into()
            }
        );
    }

    #[test]
    fn import_restcomm_takes_a_file_the_database_and_the_key_file() {
        let (task_, config) = task(&["--db", "new.db", "import", "restcomm", "restcomm.script"]);
        assert_eq!(task_, Task::ImportRestcomm("restcomm.script".into()));
        assert_eq!(config.key_file, PathBuf::from("new.db.key"));
        let url = "postgres://app@db.example.com/switchboard";
        assert!(parse(&["--db", url, "import", "restcomm", "dump.sql"])
            .unwrap()
            .into_config()
            .is_err());
        let (_, config) = task(&[
            "--db",
            url,
            "import",
            "restcomm",
            "dump.sql",
            "--key-file",
            "k",
        ]);
        assert_eq!(config.key_file, PathBuf::from("k"));
        for args in [
            &["import", "restcomm"][..],
            &["import", "restcomm", "f", "--listen", "127.0.0.1:9"],
            &["import", "restcomm", "f", "--bcrypt-cost", "4"],
            &["import", "hsqldb", "f"],
        ] {
            assert!(parse(args).is_err(), "{args:?}");
        }
    }

    #[test]
    fn a_postgres_url_needs_a_key_file() {
        let url = "postgres://app@db.example.com/switchboard";
        let error = parse(&["--db", url]).unwrap().into_config().unwrap_err();
        assert_eq!(
            error,
            "--key-file is required when --db is a PostgreSQL URL"
        );
        let (task_, config) = task(&["--db", url, "--key-file", "/etc/sb.key"]);
        assert_eq!(task_, Task::Serve);
        assert_eq!(config.db_path, PathBuf::from(url));
        assert_eq!(config.key_file, PathBuf::from("/etc/sb.key"));
    }

    #[test]
    fn new_key_takes_the_database_and_the_key_file_only() {
        let (task_, config) = task(&["--db", "live.db", "admin", "new-key"]);
        assert_eq!(task_, Task::NewKey);
        assert_eq!(config.key_file, PathBuf::from("live.db.key"));
        let (_, config) = task(&["admin", "new-key", "--key-file", "k"]);
        assert_eq!(config.key_file, PathBuf::from("k"));
        for args in [
            &["admin", "new-key", "--bcrypt-cost", "4"][..],
            &["admin", "new-key", "--listen", "127.0.0.1:9"],
            &["admin", "new-key", "extra"],
        ] {
            assert!(parse(args).is_err(), "{args:?}");
        }
    }

    #[test]
    fn reset_password_takes_an_email_and_never_a_password() {
        let (task_, config) = task(&[
            "admin",
            "reset-password",
            "a@b.example",
            "--key-file",
            "k",
            "--bcrypt-cost",
            "4",
        ]);
        assert_eq!(task_, Task::ResetPassword("a@b.example".into()));
        assert_eq!((config.key_file, config.bcrypt_cost), ("k".into(), 4));
        assert!(parse(&["admin", "reset-password", "a@b.example", "secret pass"]).is_err());
        assert!(parse(&["admin", "reset-password", "--password", "x", "a@b.example"]).is_err());
    }

    #[test]
    fn the_commands_refuse_the_flags_of_serving() {
        for args in [
            &["backup", "copy.db", "--listen", "127.0.0.1:9"][..],
            &["backup", "copy.db", "--key-file", "k"],
            &["admin", "reset-password", "a@b.example", "--workers", "2"],
            &["admin", "reset-password", "a@b.example", "--sync", "normal"],
            &["check", "--tls-cert", "c.pem"],
            &["--listen", "127.0.0.1:9", "backup", "copy.db"],
            &["--workers", "2", "serve"],
            &["backup", "copy.db", "--trusted-proxy", "10.0.0.1"],
            &["--trusted-proxy", "10.0.0.1", "check"],
            &["copy", "--from", "a.db", "--to", "b.db", "--key-file", "k"],
            &["copy", "--from", "a.db", "--to", "b.db", "--db", "c.db"],
            &["--db", "c.db", "copy", "--from", "a.db", "--to", "b.db"],
            &["copy", "--from", "a.db"],
        ] {
            assert!(parse(args).is_err(), "{args:?}");
        }
    }

    #[test]
    fn a_listen_value_needs_an_address_and_a_port() {
        for good in [
            "127.0.0.1:8080",
            "0.0.0.0:0",
            "[::1]:8080",
            "localhost:8080",
        ] {
            assert_eq!(listen_address(good).as_deref(), Ok(good));
        }
        for bad in [
            "8080",
            ":8082",
            "127.0.0.1",
            "127.0.0.1:",
            "host:99999",
            "a b:80",
        ] {
            assert!(listen_address(bad).is_err(), "{bad}");
        }
        let error = parse(&["--listen", "8080"]).unwrap_err().to_string();
        assert!(
            error.contains("'8080'") && error.contains("127.0.0.1:8080"),
            "{error}"
        );
    }

    #[test]
    fn trusted_proxies_are_parsed_before_serving_and_default_to_none() {
        assert_eq!(task(&[]).1.trusted_proxies, TrustedProxies::default());
        let (_, config) = task(&["--trusted-proxy", "10.0.0.0/8, ::1"]);
        assert_eq!(config.trusted_proxies.to_string(), "10.0.0.0/8,::1/128");
        let (_, config) = task(&["serve", "--trusted-proxy", "127.0.0.1"]);
        assert_eq!(config.trusted_proxies.to_string(), "127.0.0.1/32");
        let error = parse(&["--trusted-proxy", "10.0.0.0/8,10.0.0.300"])
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("--trusted-proxy") && error.contains("'10.0.0.300'"),
            "{error}"
        );
    }

    #[test]
    fn each_help_lists_only_the_flags_of_its_command() {
        let mut cli = Cli::command();
        let serve = cli.render_long_help().to_string();
        for flag in [
            "--db",
            "--listen",
            "--key-file",
            "--tls-cert",
            "SWITCHBOARD_LISTEN",
            "--trusted-proxy",
            "SWITCHBOARD_TRUSTED_PROXY",
        ] {
            assert!(serve.contains(flag), "switchboard --help lacks {flag}");
        }
        let backup = cli
            .find_subcommand_mut("backup")
            .unwrap()
            .render_long_help()
            .to_string();
        let reset = cli
            .find_subcommand_mut("admin")
            .and_then(|admin| admin.find_subcommand_mut("reset-password"))
            .unwrap()
            .render_long_help()
            .to_string();
        for flag in [
            "--listen",
            "--workers",
            "--tls-cert",
            "--admin-email",
            "--sync",
            "--trusted-proxy",
        ] {
            assert!(!backup.contains(flag), "backup --help lists {flag}");
            assert!(!reset.contains(flag), "reset-password --help lists {flag}");
        }
        assert!(backup.contains("--db") && !backup.contains("--key-file"));
        assert!(reset.contains("--key-file") && reset.contains("SWITCHBOARD_RESET_PASSWORD"));
        assert!(!reset.contains("SWITCHBOARD_ADMIN_PASSWORD"));
    }
}
