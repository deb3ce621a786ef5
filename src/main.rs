//! The `newswatch` binary: parse the command line, run, map the result to
//! an exit code. The only place that ends the process.

use std::process::ExitCode;

fn main() -> ExitCode {
    // Before anything else: a SIGTERM that arrives while `run` starts up
    // waits for its handler instead of killing the process half-started.
    newswatch::cli::hold_signals();
    newswatch::cli::install_panic_hook();
    let cli = newswatch::cli::parse();
    match newswatch::cli::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let code = newswatch::cli::exit_code(&e);
            newswatch::cli::print_error(&e);
            ExitCode::from(code)
        }
    }
}

/// A reader that went away (`newswatch feeds | head`) is not an error.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain()
        .filter_map(|c| c.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}
