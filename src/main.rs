use std::process::ExitCode;

use switchboard::cli::{Cli, Task};
use switchboard::commands;
use switchboard::config::Config;
use switchboard::startup::{Application, StopSignals};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) if !error.use_stderr() => error.exit(),
        Err(error) => {
            let message = error.to_string();
            let first_line = message.lines().next().unwrap_or("invalid arguments");
            eprintln!("switchboard: {}", first_line.trim_start_matches("error: "));
            return ExitCode::from(2);
        }
    };
    // Dropped as main returns, which writes out every line still queued.
    let _log = switchboard::logging::init();
    let (task, config) = match cli.into_config() {
        Ok(parts) => parts,
        Err(message) => {
            eprintln!("switchboard: {message}");
            return ExitCode::from(2);
        }
    };
    let outcome = match task {
        Task::Serve => return serve(config),
        Task::Backup(path) => commands::backup(&config, &path),
        Task::Check => commands::check(&config),
        Task::Copy { from, to } => commands::copy(&from, &to),
        Task::ResetPassword(email) => commands::reset_password(&config, &email),
        Task::NewKey => commands::new_key(&config),
        Task::ImportRestcomm(file) => commands::import_restcomm(&config, &file),
        Task::PruneEvents(before) => commands::prune_events(&config, before),
    };
    match outcome {
        Ok(message) => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("switchboard: {message}");
            ExitCode::FAILURE
        }
    }
}

fn serve(config: Config) -> ExitCode {
    actix_web::rt::System::new().block_on(async move {
        let app = match Application::build(config).await {
            Ok(app) => app,
            Err(error) => {
                eprintln!("switchboard: {error}");
                return ExitCode::FAILURE;
            }
        };
        let signals = match StopSignals::install() {
            Ok(signals) => signals,
            Err(error) => {
                eprintln!("switchboard: cannot watch for stop signals: {error}");
                return ExitCode::FAILURE;
            }
        };
        app.announce();
        match app.run_until_signal(signals).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("switchboard: the server stopped: {error}");
                ExitCode::FAILURE
            }
        }
    })
}

/// Every response allocates its body and a few strings per account; mimalloc's thread-local
/// free lists make those allocations markedly cheaper than the system allocator's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
