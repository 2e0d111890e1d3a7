//! Any bytes a peer sends, through every safe form: the terminal form carries no control
//! character, the XML form always parses back to itself inside an element and an attribute, the
//! Markdown form stays on one line with every `|` escaped, the HTML form opens no tag.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quick_xml::events::{BytesStart, BytesText, Event};
use vetcrypt::report::safe;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let t = safe::terminal(&text);
    assert!(!t.chars().any(safe::is_hazard));

    let x = safe::xml(&text);
    let mut w = quick_xml::Writer::new(Vec::new());
    let mut start = BytesStart::new("case");
    start.push_attribute(("name", x.as_ref()));
    w.write_event(Event::Start(start)).unwrap();
    w.write_event(Event::Text(BytesText::new(&x))).unwrap();
    w.write_event(Event::End(quick_xml::events::BytesEnd::new("case")))
        .unwrap();
    let doc = String::from_utf8(w.into_inner()).unwrap();
    let mut r = quick_xml::Reader::from_str(&doc);
    let mut body = String::new();
    loop {
        match r.read_event().expect("the XML form parses") {
            Event::Start(s) => {
                for a in s.attributes() {
                    let v = a
                        .expect("attribute")
                        .unescape_value()
                        .expect("attribute value");
                    assert_eq!(v, x);
                }
            }
            Event::Text(t) => body.push_str(&t.decode().expect("text")),
            Event::GeneralRef(g) => {
                let name = g.decode().expect("reference");
                body.push_str(match name.as_ref() {
                    "lt" => "<",
                    "gt" => ">",
                    "amp" => "&",
                    "quot" => "\"",
                    "apos" => "'",
                    other => panic!("unexpected reference {other}"),
                });
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(body, x);

    let md = safe::markdown(&text);
    assert!(!md.contains('\n') && !md.contains('<'));
    let unescaped_pipe = md
        .char_indices()
        .filter(|(_, c)| *c == '|')
        .any(|(i, _)| md[..i].chars().rev().take_while(|c| *c == '\\').count() % 2 == 0);
    assert!(!unescaped_pipe, "{md}");

    let h = safe::html(&text);
    assert!(!h.contains('<') && !h.contains('>'));
});
