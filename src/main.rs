//! The `newswatch` binary: parse the command line, run, map the result to
//! an exit code. The only place that ends the process.

use std::process::ExitCode;

fn main() -> ExitCode {
    newswatch::parse::install_panic_hook();
    let cli = newswatch::cli::parse();
    match newswatch::cli::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let code = newswatch::cli::exit_code(&e);
            eprintln!("newswatch: error: {e:#}");
            ExitCode::from(code)
        }
    }
}
