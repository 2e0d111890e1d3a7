//! Reports: render a report for people (terminal) and for machines (JSON, SARIF, JUnit); the
//! benchmark report (`bench`: terminal, Markdown, HTML with an SVG chart from `chart`).

pub mod bench;
pub mod chart;
pub mod claims;
pub mod document;
pub mod drift;
mod junit;
pub mod model;
mod sarif;
mod terminal;

use std::path::PathBuf;

pub use model::{build, Report, REPORT_SCHEMA_VERSION};

use crate::error::UsageError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Terminal,
    Json,
    Sarif,
    Junit,
    /// The review document, self-contained HTML.
    Html,
    Markdown,
}

impl Format {
    pub const NAMES: &'static str = "terminal, json, sarif, junit, html, markdown";

    pub fn parse(s: &str) -> Option<Format> {
        match s.to_ascii_lowercase().as_str() {
            "terminal" | "text" | "table" => Some(Format::Terminal),
            "json" => Some(Format::Json),
            "sarif" => Some(Format::Sarif),
            "junit" | "xml" => Some(Format::Junit),
            "html" => Some(Format::Html),
            "markdown" | "md" => Some(Format::Markdown),
            _ => None,
        }
    }
}

/// One output: a format and where it goes (`None`: standard output).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub format: Format,
    pub path: Option<PathBuf>,
}

/// Parses `--format FMT[=FILE]` (repeatable, or comma-separated) and `--output FILE`.
pub fn parse_outputs(
    formats: &[String],
    output: Option<PathBuf>,
) -> Result<Vec<Output>, UsageError> {
    Ok(parse_outputs_with(
        formats,
        output,
        Format::parse,
        Format::NAMES,
        Format::Terminal,
    )?
    .into_iter()
    .map(|(format, path)| Output { format, path })
    .collect())
}

/// [`parse_outputs`] for any set of format names (the benchmark report has its own).
pub fn parse_outputs_with<F: Copy>(
    formats: &[String],
    output: Option<PathBuf>,
    parse: fn(&str) -> Option<F>,
    names: &str,
    default: F,
) -> Result<Vec<(F, Option<PathBuf>)>, UsageError> {
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
        let format = parse(name.trim()).ok_or_else(|| {
            UsageError(format!(
                "unknown format `{name}` (expected one of: {names})"
            ))
        })?;
        outs.push((format, path));
    }
    if outs.is_empty() {
        outs.push((default, None));
    }
    if let Some(path) = output {
        let unplaced: Vec<usize> = (0..outs.len()).filter(|i| outs[*i].1.is_none()).collect();
        match unplaced.as_slice() {
            [i] => outs[*i].1 = Some(path),
            [] => return Err(UsageError("--output: every --format already names its file".into())),
            _ => {
                return Err(UsageError(
                    "--output takes one format; with several, write --format json=out.json --format sarif=out.sarif".into(),
                ))
            }
        }
    }
    if outs.iter().filter(|o| o.1.is_none()).count() > 1 {
        return Err(UsageError(
            "only one format can go to standard output; give the others a file: --format sarif=results.sarif".into(),
        ));
    }
    Ok(outs)
}

/// Text for HTML element content and double-quoted attributes.
pub(crate) fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Text for one Markdown table cell or list line: no `|`, no line break.
pub(crate) fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs() {
        let o = parse_outputs(&["json".into()], Some("r.json".into())).unwrap();
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
        )
        .unwrap();
        assert_eq!(o.len(), 3);
        assert!(parse_outputs(&["json".into(), "sarif".into()], None).is_err());
        assert!(parse_outputs(&["yaml".into()], None).is_err());
        assert_eq!(
            parse_outputs(&[], None).unwrap()[0].format,
            Format::Terminal
        );
    }
}
