//! Reports: render a report for people (terminal) and for machines (JSON, SARIF, JUnit); the
//! benchmark report (`bench`: terminal, Markdown, HTML with an SVG chart from `chart`).

pub mod bench;
pub mod chart;
pub mod claims;
mod codequality;
pub mod document;
pub mod drift;
mod junit;
pub mod load;
pub mod location;
pub mod model;
pub mod safe;
pub mod sarif;
mod terminal;

use std::path::PathBuf;

pub use model::{build, Report, REPORT_SCHEMA_VERSION};

use crate::error::UsageError;

/// Every output format of every command; each command says which of them it writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Terminal,
    Json,
    Sarif,
    Junit,
    /// The review document, self-contained HTML.
    Html,
    Markdown,
    /// GitLab Code Quality (merge-request widgets).
    CodeQuality,
}

impl Format {
    /// The formats of the findings report (`scan`, `kms`, `check`, `demo`), in the order its
    /// errors list them.
    pub const ALL: &'static [Format] = &[
        Format::Terminal,
        Format::Json,
        Format::Sarif,
        Format::Junit,
        Format::Html,
        Format::Markdown,
        Format::CodeQuality,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::Terminal => "terminal",
            Format::Json => "json",
            Format::Sarif => "sarif",
            Format::Junit => "junit",
            Format::Html => "html",
            Format::Markdown => "markdown",
            Format::CodeQuality => "codequality",
        }
    }

    pub fn parse(s: &str) -> Option<Format> {
        match s.to_ascii_lowercase().as_str() {
            "terminal" | "text" | "table" => Some(Format::Terminal),
            "json" => Some(Format::Json),
            "sarif" => Some(Format::Sarif),
            "junit" | "xml" => Some(Format::Junit),
            "html" => Some(Format::Html),
            "markdown" | "md" => Some(Format::Markdown),
            "codequality" | "code-quality" | "gitlab" => Some(Format::CodeQuality),
            _ => None,
        }
    }

    /// Whether each result points at a file line (the subjects must come from files).
    pub fn points_at_files(self) -> bool {
        matches!(self, Format::Sarif | Format::CodeQuality)
    }
}

/// One output: a format and where it goes (`None`: standard output).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub format: Format,
    pub path: Option<PathBuf>,
}

/// Parses `--format FMT[=FILE]` (repeatable, or comma-separated) and `--output FILE` for a
/// command that writes the `supported` formats (the first is the default). Any other format is
/// a usage error that lists the supported ones.
pub fn parse_outputs(
    formats: &[String],
    output: Option<PathBuf>,
    supported: &[Format],
) -> Result<Vec<Output>, UsageError> {
    let mut outs = Vec::new();
    for spec in formats.iter().flat_map(|f| f.split(',')) {
        let (name, path) = match spec.split_once('=') {
            Some((n, p)) if !p.is_empty() => (n, Some(PathBuf::from(p))),
            Some((n, _)) => {
                return Err(UsageError(format!(
                    "--format {n}=: the file name is missing"
                )))
            }
            None => (spec, None),
        };
        let format = Format::parse(name.trim())
            .filter(|f| supported.contains(f))
            .ok_or_else(|| {
                let names: Vec<&str> = supported.iter().map(|f| f.name()).collect();
                UsageError(format!(
                    "unknown format `{name}` (expected one of: {})",
                    names.join(", ")
                ))
            })?;
        outs.push(Output { format, path });
    }
    if outs.is_empty() {
        outs.push(Output {
            format: supported[0],
            path: None,
        });
    }
    if let Some(path) = output {
        let unplaced: Vec<usize> = (0..outs.len())
            .filter(|i| outs[*i].path.is_none())
            .collect();
        match unplaced.as_slice() {
            [i] => outs[*i].path = Some(path),
            [] => return Err(UsageError("--output: every --format already names its file".into())),
            _ => {
                return Err(UsageError(
                    "--output takes one format; with several, write --format json=out.json --format sarif=out.sarif".into(),
                ))
            }
        }
    }
    if outs.iter().filter(|o| o.path.is_none()).count() > 1 {
        return Err(UsageError(
            "only one format can go to standard output; give the others a file: --format sarif=results.sarif".into(),
        ));
    }
    Ok(outs)
}

/// Text for HTML element content and quoted attributes (the safe HTML form).
pub(crate) fn html_escape(s: &str) -> String {
    safe::html(s)
}

/// Text for one Markdown table cell or list line (the safe Markdown form).
pub(crate) fn md_cell(s: &str) -> String {
    safe::markdown(s)
}

/// Renders a report in one format.
pub fn render(report: &Report, format: Format, color: bool, verbose: bool) -> String {
    match format {
        Format::Terminal => terminal::render(report, color, verbose),
        Format::Json => serde_json::to_string_pretty(report).unwrap_or_default() + "\n",
        Format::Sarif => sarif::render(report),
        Format::Junit => junit::render(report),
        Format::Html => document::html(report, None),
        Format::Markdown => document::markdown(report, None),
        Format::CodeQuality => codequality::render(report),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs() {
        let o = parse_outputs(&["json".into()], Some("r.json".into()), Format::ALL).unwrap();
        assert_eq!(
            o,
            vec![Output {
                format: Format::Json,
                path: Some("r.json".into())
            }]
        );
        let o = parse_outputs(
            &["terminal,sarif=r.sarif".into(), "junit=j.xml".into()],
            None,
            Format::ALL,
        )
        .unwrap();
        assert_eq!(o.len(), 3);
        assert!(parse_outputs(&["json".into(), "sarif".into()], None, Format::ALL).is_err());
        assert!(parse_outputs(&["yaml".into()], None, Format::ALL).is_err());
        assert_eq!(
            parse_outputs(&[], None, Format::ALL).unwrap()[0].format,
            Format::Terminal
        );
    }

    #[test]
    fn a_format_the_command_does_not_write_lists_the_ones_it_does() {
        let bench = [
            Format::Terminal,
            Format::Json,
            Format::Markdown,
            Format::Html,
        ];
        let e = parse_outputs(&["sarif".into()], None, &bench).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown format `sarif` (expected one of: terminal, json, markdown, html)"
        );
        let o = parse_outputs(&["md".into()], None, &bench).unwrap();
        assert_eq!(o[0].format, Format::Markdown);
    }
}
