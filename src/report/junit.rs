//! JUnit XML: one test suite per endpoint, one test case per endpoint × rule. Failures are
//! `<failure>`, probe errors `<error>`, not observed and not applicable `<skipped>`.

use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;

use super::model::Report;
use crate::policy::Status;

pub fn render(report: &Report) -> String {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    let _ = write(&mut w, report);
    let mut s = String::from_utf8(w.into_inner()).unwrap_or_default();
    s.push('\n');
    s
}

fn write(w: &mut Writer<Vec<u8>>, report: &Report) -> std::io::Result<()> {
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let c = &report.summary.findings;
    let total = c.pass + c.fail + c.not_observed + c.not_applicable + c.error;
    w.create_element("testsuites")
        .with_attribute(("name", "vetcrypt"))
        .with_attribute(("tests", total.to_string().as_str()))
        .with_attribute(("failures", c.fail.to_string().as_str()))
        .with_attribute(("errors", c.error.to_string().as_str()))
        .with_attribute((
            "skipped",
            (c.not_observed + c.not_applicable).to_string().as_str(),
        ))
        .with_attribute(("timestamp", report.generated_at.as_str()))
        .write_inner_content(|w| {
            for ep in &report.endpoints {
                let ec = ep.counts();
                w.create_element("testsuite")
                    .with_attribute(("name", ep.display.as_str()))
                    .with_attribute(("tests", ep.findings.len().to_string().as_str()))
                    .with_attribute(("failures", ec.fail.to_string().as_str()))
                    .with_attribute(("errors", ec.error.to_string().as_str()))
                    .with_attribute((
                        "skipped",
                        (ec.not_observed + ec.not_applicable).to_string().as_str(),
                    ))
                    .write_inner_content(|w| {
                        for f in &ep.findings {
                            let case = w
                                .create_element("testcase")
                                .with_attribute((
                                    "classname",
                                    format!("vetcrypt.{}", ep.facts.target.authority()).as_str(),
                                ))
                                .with_attribute((
                                    "name",
                                    format!("{}: {}", f.rule_id, f.title).as_str(),
                                ));
                            let evidence = f.evidence.join("\n");
                            let (tag, message) = match f.status {
                                Status::Pass => {
                                    case.write_empty()?;
                                    continue;
                                }
                                Status::Fail => {
                                    ("failure", f.evidence.first().cloned().unwrap_or_default())
                                }
                                Status::Error => {
                                    ("error", f.evidence.first().cloned().unwrap_or_default())
                                }
                                Status::NotObserved => (
                                    "skipped",
                                    format!("not observed: {}", f.evidence.join("; ")),
                                ),
                                Status::NotApplicable => (
                                    "skipped",
                                    format!("not applicable: {}", f.evidence.join("; ")),
                                ),
                            };
                            case.write_inner_content(|w| {
                                let el = w
                                    .create_element(tag)
                                    .with_attribute(("message", message.as_str()));
                                if f.status == Status::Fail {
                                    el.with_attribute(("type", f.severity.label()))
                                        .write_text_content(BytesText::new(&format!(
                                            "{evidence}\nfix: {}\nreference: {}",
                                            f.remediation, f.reference
                                        )))?;
                                } else if f.status == Status::Error {
                                    el.write_text_content(BytesText::new(&evidence))?;
                                } else {
                                    el.write_empty()?;
                                }
                                Ok(())
                            })?;
                        }
                        Ok(())
                    })?;
            }
            Ok(())
        })?;
    Ok(())
}
