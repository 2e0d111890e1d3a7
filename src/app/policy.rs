//! `vetcrypt policy list|show|validate|rules`.

use super::{print_out, Result};
use crate::cli::PolicyCommand;
use crate::error::{exit, read_input};
use crate::policy::{self, Policy};

pub fn run(cmd: PolicyCommand) -> Result<u8> {
    let text = match cmd {
        PolicyCommand::List => list()?,
        PolicyCommand::Show { policy } => policy::describe(&Policy::load(&policy)?),
        PolicyCommand::Validate { file } => {
            let src = read_input(&file, "policy file")?;
            let p = Policy::parse(&file.display().to_string(), &src)?;
            format!(
                "{}: valid policy `{}` version {} with {} rules\n",
                file.display(),
                p.name,
                p.version,
                p.rules.len()
            )
        }
        PolicyCommand::Rules => policy::describe_catalog(),
    };
    print_out(&text);
    Ok(exit::PASS)
}

/// The built-in policies, one a line.
fn list() -> Result<String> {
    let width = policy::BUILTIN
        .iter()
        .map(|(n, _)| n.len())
        .max()
        .unwrap_or(0);
    let mut t = String::new();
    for (name, src) in policy::BUILTIN {
        let p = Policy::parse(&format!("builtin:{name}"), src)?;
        t.push_str(&format!(
            "{name:<width$}  {:>2} rules  {}\n",
            p.rules.len(),
            p.description
        ));
    }
    Ok(t)
}
