//! JUnit XML: one test suite per endpoint, one test case per endpoint × rule. Failures are
//! `<failure>`, probe errors `<error>`, not observed and not applicable `<skipped>`.

use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;

use super::model::Report;
use super::safe::{self, xml as x};
use crate::policy::Status;

pub fn render(report: &Report) -> String {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    let _ = write(&mut w, report);
    let mut s = String::from_utf8(w.into_inner()).unwrap_or_default();
    s.push('\n');
    safe::xml_document(s)
}

fn write(w: &mut Writer<Vec<u8>>, report: &Report) -> std::io::Result<()> {
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let c = &report.summary.findings;
    let listing = report.kms_errors.len() as u32;
    let total = c.pass + c.fail + c.not_observed + c.not_applicable + c.error + listing;
    w.create_element("testsuites")
        .with_attribute(("name", "vetcrypt"))
        .with_attribute(("tests", total.to_string().as_str()))
        .with_attribute(("failures", (c.fail - c.waived).to_string().as_str()))
        .with_attribute(("errors", (c.error + listing).to_string().as_str()))
        .with_attribute((
            "skipped",
            (c.not_observed + c.not_applicable + c.waived)
                .to_string()
                .as_str(),
        ))
        .with_attribute(("timestamp", report.generated_at.as_str()))
        .write_inner_content(|w| {
            for sub in report.subjects() {
                let mut ec = super::model::Counts::default();
                sub.findings.iter().for_each(|f| ec.add_finding(f));
                w.create_element("testsuite")
                    .with_attribute(("name", x(sub.display).as_ref()))
                    .with_attribute(("tests", sub.findings.len().to_string().as_str()))
                    .with_attribute(("failures", (ec.fail - ec.waived).to_string().as_str()))
                    .with_attribute(("errors", ec.error.to_string().as_str()))
                    .with_attribute((
                        "skipped",
                        (ec.not_observed + ec.not_applicable + ec.waived)
                            .to_string()
                            .as_str(),
                    ))
                    .write_inner_content(|w| {
                        for f in sub.findings {
                            let case = w
                                .create_element("testcase")
                                .with_attribute((
                                    "classname",
                                    format!("vetcrypt.{}", x(&sub.id)).as_str(),
                                ))
                                .with_attribute((
                                    "name",
                                    format!("{}: {}", f.rule_id, f.title).as_str(),
                                ));
                            let shown: Vec<String> =
                                f.evidence.iter().map(|e| x(e).into_owned()).collect();
                            let evidence = shown.join("\n");
                            let (tag, message) = match f.status {
                                Status::Pass => {
                                    case.write_empty()?;
                                    continue;
                                }
                                Status::Fail => match &f.waived {
                                    Some(w) => (
                                        "skipped",
                                        format!(
                                            "waived by {} until {}: {}",
                                            x(&w.owner),
                                            w.expires,
                                            x(&w.reason)
                                        ),
                                    ),
                                    None => ("failure", shown.first().cloned().unwrap_or_default()),
                                },
                                Status::Error => {
                                    ("error", shown.first().cloned().unwrap_or_default())
                                }
                                Status::NotObserved => {
                                    ("skipped", format!("not observed: {}", shown.join("; ")))
                                }
                                Status::NotApplicable => {
                                    ("skipped", format!("not applicable: {}", shown.join("; ")))
                                }
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
            if !report.kms_errors.is_empty() {
                w.create_element("testsuite")
                    .with_attribute(("name", "KMS listing"))
                    .with_attribute(("tests", report.kms_errors.len().to_string().as_str()))
                    .with_attribute(("failures", "0"))
                    .with_attribute(("errors", report.kms_errors.len().to_string().as_str()))
                    .write_inner_content(|w| {
                        for e in &report.kms_errors {
                            w.create_element("testcase")
                                .with_attribute(("classname", "vetcrypt.kms"))
                                .with_attribute((
                                    "name",
                                    format!(
                                        "{} {}: {}",
                                        e.cloud.label(),
                                        x(&e.scope),
                                        x(&e.error.operation)
                                    )
                                    .as_str(),
                                ))
                                .write_inner_content(|w| {
                                    w.create_element("error")
                                        .with_attribute(("message", x(&e.error.message).as_ref()))
                                        .write_empty()?;
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
