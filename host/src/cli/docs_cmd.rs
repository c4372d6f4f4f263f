//! `orb completions SHELL` and `orb man`: shell completion scripts and manual pages, made from
//! the command line's own definitions, so they never drift from it.

use std::path::Path;

use clap::CommandFactory;
use clap_complete::Shell;

use super::{Cli, CommandOutput};

/// Prints the completion script of `shell`.
pub fn completions(shell: Shell) -> anyhow::Result<CommandOutput> {
    let mut command = super::examples::with_examples(Cli::command());
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "orb", &mut script);
    super::render::to_stdout(&String::from_utf8_lossy(&script))?;
    Ok(CommandOutput::silent())
}

/// Prints `orb(1)`, or writes a page for `orb` and for each of its commands into `dir`.
pub fn man(dir: Option<&Path>) -> anyhow::Result<CommandOutput> {
    let command = super::examples::with_examples(Cli::command());
    match dir {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command).render(&mut page)?;
            super::render::to_stdout(&String::from_utf8_lossy(&page))?;
            Ok(CommandOutput::silent())
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
            let mut written = Vec::new();
            write_pages(command, "orb", dir, &mut written)?;
            Ok(CommandOutput::of(serde_json::json!({ "written": written })))
        }
    }
}

/// Writes the page of `command` (named `name`) and of each of its subcommands.
fn write_pages(
    command: clap::Command,
    name: &str,
    dir: &Path,
    written: &mut Vec<String>,
) -> anyhow::Result<()> {
    let command = command.name(name.to_owned());
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        write_pages(
            sub.clone(),
            &format!("{name}-{}", sub.get_name()),
            dir,
            written,
        )?;
    }
    let path = dir.join(format!("{name}.1"));
    let mut page = Vec::new();
    clap_mangen::Man::new(command).render(&mut page)?;
    std::fs::write(&path, page)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    written.push(path.display().to_string());
    Ok(())
}
