//! Writes the man page and the shell completions from the same clap
//! definitions the binary parses with (`src/cli/args.rs`) into
//! `target/<profile>/assets/`, where `cargo deb` picks them up. A failure
//! here is a warning, never a failed build: `newswatch man` and
//! `newswatch completions SHELL` print the same files at run time.

use clap::CommandFactory;
use clap_complete::Shell;
use std::path::{Path, PathBuf};

#[allow(dead_code)]
#[path = "src/cli/args.rs"]
mod args;

/// The grammar only needs the parser's signature here.
fn parse_duration_arg(_: &str) -> Result<std::time::Duration, String> {
    Ok(std::time::Duration::ZERO)
}

fn main() {
    println!("cargo:rerun-if-changed=src/cli/args.rs");
    println!("cargo:rerun-if-changed=build.rs");
    // Packed relative relocations (DT_RELR, glibc 2.36+): the loader applies
    // the binary's ~100,000 relative relocations from a table a fraction of
    // the size, which shortens the time between exec and `main`, the one
    // window in which a SIGTERM still meets the default action.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
        && std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("gnu")
    {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    let Some(out) = std::env::var_os("OUT_DIR").map(PathBuf::from) else {
        return;
    };
    // OUT_DIR is <target>/<profile>/build/<pkg>-<hash>/out.
    let Some(profile_dir) = out.ancestors().nth(3) else {
        return;
    };
    if let Err(e) = write_assets(&profile_dir.join("assets")) {
        println!("cargo:warning=man page and completions not written: {e}");
    }
}

fn write_assets(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut page = Vec::new();
    clap_mangen::Man::new(args::Cli::command()).render(&mut page)?;
    std::fs::write(dir.join("newswatch.1"), page)?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        clap_complete::generate_to(shell, &mut args::Cli::command(), "newswatch", dir)?;
    }
    Ok(())
}
