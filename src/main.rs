use std::process::ExitCode;

use clap::Parser;
use switchboard::cli::Cli;
use switchboard::startup::Application;

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
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let config = match cli.into_config() {
        Ok(config) => config,
        Err(message) => {
            eprintln!("switchboard: {message}");
            return ExitCode::from(2);
        }
    };
    actix_web::rt::System::new().block_on(async move {
        let app = match Application::build(config).await {
            Ok(app) => app,
            Err(error) => {
                eprintln!("switchboard: {error}");
                return ExitCode::FAILURE;
            }
        };
        app.announce();
        match app.run().await {
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
