//! The command line: every flag also reads a `SWITCHBOARD_*` environment variable.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::{default_key_file, Config, TlsFiles};
use crate::domain::account::Email;
use crate::store::SyncMode;

#[derive(Parser, Debug)]
#[command(
    name = "switchboard",
    version,
    about = "Serves the Restcomm-compatible Accounts API from an embedded SQLite database.",
    after_help = "Environment only (never a flag, so it stays out of `ps`):\n  \
        SWITCHBOARD_ADMIN_PASSWORD  the first administrator's password, used on the first start \
        only [default: random, printed once]\n\nRUST_LOG sets the log level (default: info)."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    /// The SQLite database file, created on first start
    #[arg(
        long,
        global = true,
        env = "SWITCHBOARD_DB",
        value_name = "PATH",
        default_value = "./switchboard.db"
    )]
    db: PathBuf,

    /// Where to listen for HTTP
    #[arg(
        long,
        global = true,
        env = "SWITCHBOARD_LISTEN",
        value_name = "ADDR:PORT",
        default_value = "127.0.0.1:8080"
    )]
    listen: String,

    /// The installation key that AuthTokens derive from [default: the database path + .key]
    #[arg(long, global = true, env = "SWITCHBOARD_KEY_FILE", value_name = "PATH")]
    key_file: Option<PathBuf>,

    /// The first administrator's email address, used on the first start only
    #[arg(long, global = true, env = "SWITCHBOARD_ADMIN_EMAIL", value_name = "EMAIL", default_value = Config::DEFAULT_ADMIN_EMAIL)]
    admin_email: String,

    /// bcrypt cost for password hashes (4 to 31)
    #[arg(long, global = true, env = "SWITCHBOARD_BCRYPT_COST", value_name = "N", default_value_t = 12,
          value_parser = clap::value_parser!(u32).range(4..=31))]
    bcrypt_cost: u32,

    /// HTTP worker threads [default: the number of cores]
    #[arg(long, global = true, env = "SWITCHBOARD_WORKERS", value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=1024))]
    workers: Option<u16>,

    /// full: an answered write survives power loss; normal: faster, may lose the last writes
    /// on power loss
    #[arg(long, global = true, env = "SWITCHBOARD_SYNC", value_name = "MODE", default_value = "full",
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
}

/// What to do; serving is the default.
#[derive(Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Serve the API (the default)
    Serve,
    /// Copy the database consistently, also while the server runs and takes writes. The key
    /// file is not part of the copy: back it up separately
    Backup {
        /// Where to write the copy; an existing file there is replaced only once the new copy
        /// is complete
        path: PathBuf,
    },
    /// Recovery commands, run on the server's machine
    #[command(subcommand)]
    Admin(AdminCommand),
}

#[derive(Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum AdminCommand {
    /// Set a new password for an account (a locked-out administrator, say), with the server
    /// stopped or running. The password is read from SWITCHBOARD_ADMIN_PASSWORD or standard
    /// input, never from the command line
    ResetPassword {
        /// The account's email address
        email: String,
    },
}

impl Cli {
    /// The command to run: `serve` when none was given.
    pub fn command(&self) -> Command {
        self.command.clone().unwrap_or(Command::Serve)
    }

    pub fn into_config(self) -> Result<Config, String> {
        let admin_email =
            Email::parse(&self.admin_email).map_err(|e| format!("--admin-email: {}", e.reason))?;
        let mut config = Config::new(self.db.clone());
        config.key_file = self.key_file.unwrap_or_else(|| default_key_file(&self.db));
        config.listen = self.listen;
        config.admin_email = admin_email;
        config.admin_password = std::env::var("SWITCHBOARD_ADMIN_PASSWORD")
            .ok()
            .filter(|p| !p.is_empty());
        config.bcrypt_cost = self.bcrypt_cost;
        if let Some(workers) = self.workers {
            config.workers = usize::from(workers);
        }
        config.sync = if self.sync == "normal" {
            SyncMode::Normal
        } else {
            SyncMode::Full
        };
        if let (Some(cert), Some(key)) = (self.tls_cert, self.tls_key) {
            config.tls = Some(TlsFiles { cert, key });
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("switchboard").chain(args.iter().copied()))
    }

    #[test]
    fn serving_is_the_default_and_flags_work_before_or_after_the_command() {
        assert_eq!(parse(&[]).unwrap().command(), Command::Serve);
        let cli = parse(&["--listen", "127.0.0.1:9"]).unwrap();
        assert_eq!(cli.command(), Command::Serve);
        assert_eq!(cli.into_config().unwrap().listen, "127.0.0.1:9");
        let cli = parse(&["serve", "--listen", "127.0.0.1:9"]).unwrap();
        assert_eq!(cli.into_config().unwrap().listen, "127.0.0.1:9");
        let cli = parse(&["backup", "copy.db", "--db", "live.db"]).unwrap();
        assert_eq!(
            cli.command(),
            Command::Backup {
                path: "copy.db".into()
            }
        );
        assert_eq!(cli.into_config().unwrap().db_path, PathBuf::from("live.db"));
    }

    #[test]
    fn reset_password_takes_an_email_and_never_a_password() {
        let cli = parse(&["admin", "reset-password", "a@b.example"]).unwrap();
        assert_eq!(
            cli.command(),
            Command::Admin(AdminCommand::ResetPassword {
                email: "a@b.example".into()
            })
        );
        assert!(parse(&["admin", "reset-password", "a@b.example", "secret pass"]).is_err());
        assert!(parse(&["admin", "reset-password", "--password", "x", "a@b.example"]).is_err());
    }
}
