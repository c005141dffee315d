//! `evident completions SHELL` (clap_complete) and `evident man`
//! (clap_mangen): generated from the same definitions as the parser.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, CommandFactory};

use crate::util::{io_err, stdout_err, Failure};

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell. Install for bash: `evident completions bash >
    /// ~/.local/share/bash-completion/completions/evident`; zsh: into a
    /// directory of $fpath as `_evident`; fish: into
    /// ~/.config/fish/completions/evident.fish; PowerShell: add
    /// `evident completions powershell | Out-String | Invoke-Expression` to
    /// $PROFILE.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Args, Debug)]
pub struct ManArgs {
    /// Write one page per command into DIR (evident.1, evident-verify.1,
    /// …) and print their paths, instead of printing evident(1).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

pub fn completions(a: CompletionsArgs, out: &mut dyn Write) -> Result<u8, Failure> {
    let mut cmd = crate::Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "evident", &mut buf);
    out.write_all(&buf).map_err(stdout_err)?;
    Ok(0)
}

fn pages(cmd: clap::Command, dir: &Path, written: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned() {
        pages(sub, dir, written)?;
    }
    written.push(clap_mangen::Man::new(cmd).generate_to(dir)?);
    Ok(())
}

pub fn man(a: ManArgs, out: &mut dyn Write) -> Result<u8, Failure> {
    let mut cmd = crate::Cli::command().disable_help_subcommand(true);
    cmd.build();
    let Some(dir) = a.dir else {
        let mut buf = Vec::new();
        clap_mangen::Man::new(cmd)
            .render(&mut buf)
            .map_err(stdout_err)?;
        out.write_all(&buf).map_err(stdout_err)?;
        return Ok(0);
    };
    std::fs::create_dir_all(&dir)
        .map_err(|e| Failure::lib(&dir, io_err(&dir, "create directory", e)))?;
    let mut written = Vec::new();
    pages(cmd, &dir, &mut written).map_err(|e| Failure::lib(&dir, io_err(&dir, "write", e)))?;
    written.sort();
    for p in written {
        writeln!(out, "{}", p.display()).map_err(stdout_err)?;
    }
    Ok(0)
}
