//! The HTML report: one self-contained page (no network, no external scripts or fonts) with
//! the run's header, a flows × verdicts matrix with filters, and per flow a ladder diagram
//! (SVG) of the real messages, each message's raw text and pretty-printed body, and each
//! broken requirement with its words and the diff of expected against actual. Every byte from
//! the SUT passes askama's HTML auto-escaping. The template (`templates/index.html`) is compiled
//! into the binary: compiling it at run time and rendering through dynamic values took a sixth
//! of the instructions of a one-flow run.

use super::record::{FlowRecord, RunRecord};
use crate::check::verdict::{CheckResult, Outcome, Verdict};
use crate::check::{multipart, xml};
use crate::net::{Direction, TraceEntry};
use crate::sip::SipMessage;
use askama::Template;
use std::collections::HashMap;

/// Longest message text shown; longer ones are cut with a note (the run.json keeps all).
const MAX_SHOWN: usize = 64 * 1024;
/// Width of one ladder column and the margin for time offsets, in pixels.
const COLUMN: usize = 150;
const MARGIN: usize = 90;
/// Height of one ladder row, in pixels.
const ROW: usize = 30;

/// The page's template, with the run's view.
#[derive(Template)]
#[template(path = "index.html")]
struct PageTemplate<'a> {
    page: &'a Page,
}

struct Page {
    profile_name: String,
    profile_description: String,
    harness_version: String,
    run_id: String,
    started: String,
    duration_ms: String,
    probe: String,
    summary: Vec<SummaryItem>,
    clauses: Vec<String>,
    deviations_seen: Vec<crate::sut::deviations::Deviation>,
    deviations_stale: Vec<crate::sut::deviations::Deviation>,
    flows: Vec<FlowView>,
}

struct SummaryItem {
    verdict: String,
    count: usize,
}

struct FlowView {
    anchor: String,
    id: String,
    title: String,
    verdict: String,
    clause: String,
    file: String,
    transport: String,
    duration_ms: String,
    reason: Option<String>,
    /// How a client under test ended and the end of its log.
    sut_log: Option<String>,
    branches: Vec<String>,
    failed: Vec<CheckView>,
    checks: Vec<CheckView>,
    ladder: Ladder,
    /// The specification figure whose step numbers the ladder shows.
    figure: Option<String>,
    messages: Vec<MessageView>,
}

struct CheckView {
    step: String,
    check: String,
    verdict: String,
    requirement: String,
    requirement_key: String,
    expected: String,
    actual: String,
    diff: Option<Vec<DiffLine>>,
    deviation: Option<String>,
    message: Option<String>,
}

struct DiffLine {
    class: &'static str,
    text: String,
}

struct Ladder {
    width: usize,
    height: usize,
    nodes: Vec<LadderNode>,
    arrows: Vec<Arrow>,
}

struct LadderNode {
    name: String,
    x: usize,
}

struct Arrow {
    anchor: String,
    x1: usize,
    x2: usize,
    y: usize,
    label_x: usize,
    label: String,
    time: String,
    /// `sent`, `received` or `internal`: the stroke and arrowhead come from the page's CSS
    /// and its one set of markers, not from each arrow.
    class: &'static str,
}

struct MessageView {
    anchor: String,
    seq: usize,
    time: String,
    from: String,
    to: String,
    direction: &'static str,
    transport: &'static str,
    summary: String,
    note: Option<String>,
    /// The step of the specification figure the message plays (`24`, or `26*` when
    /// reconstructed).
    spec_step: Option<String>,
    text: String,
    bodies: Vec<BodyView>,
    /// The message whose indented body this one repeats byte for byte.
    body_as_in: Option<usize>,
}

struct BodyView {
    title: String,
    text: String,
}

/// Renders the run as one HTML page.
pub fn render(record: &RunRecord) -> Result<String, String> {
    // The page shows each message about twice (its text, then its bodies indented) around
    // some 30 KiB of its own: sized once rather than grown by copying.
    let messages: usize = record
        .flows
        .iter()
        .flat_map(|f| &f.outcome.trace)
        .map(|e| e.text.len())
        .sum();
    let mut html = String::with_capacity(32 * 1024 + 3 * messages);
    PageTemplate {
        page: &page(record),
    }
    .render_into(&mut html)
    .map_err(|e| format!("cannot render the HTML report: {e}"))?;
    Ok(html)
}

fn page(record: &RunRecord) -> Page {
    let flows: Vec<FlowView> = record.flows.iter().map(flow_view).collect();
    let mut clauses: Vec<String> = flows.iter().map(|f| f.clause.clone()).collect();
    clauses.sort();
    clauses.dedup();
    Page {
        profile_name: record
            .profile
            .get("name")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string(),
        profile_description: record
            .profile
            .get("description")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string(),
        harness_version: record.harness_version.clone(),
        run_id: record.run_id.clone(),
        started: record.started.clone(),
        duration_ms: format!("{:.1}", record.duration_us as f64 / 1000.0),
        probe: record.probe.clone(),
        summary: record
            .summary
            .iter()
            .map(|(verdict, count)| SummaryItem {
                verdict: verdict.clone(),
                count: *count,
            })
            .collect(),
        clauses,
        deviations_seen: record.deviations.seen.clone(),
        deviations_stale: record.deviations.stale.clone(),
        flows,
    }
}

/// An HTML id made of the id's letters and digits.
fn anchor(id: &str) -> String {
    let cleaned: String = id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("flow-{cleaned}")
}

fn flow_view(flow: &FlowRecord) -> FlowView {
    let outcome = &flow.outcome;
    let flow_anchor = anchor(&outcome.id);
    let check_view = |check: &CheckResult| CheckView {
        step: check.step.clone(),
        check: check.check.clone(),
        verdict: check.verdict().name().to_string(),
        requirement: check.requirement.cite(),
        requirement_key: check.requirement.key.clone(),
        expected: cut(&check.expected),
        actual: cut(&check.actual),
        diff: check.diff.as_deref().map(diff_lines),
        deviation: check.deviation.clone(),
        message: check.message.map(|seq| format!("{flow_anchor}-m{seq}")),
    };
    FlowView {
        anchor: flow_anchor.clone(),
        id: outcome.id.clone(),
        title: outcome.title.clone(),
        verdict: outcome.verdict.name().to_string(),
        clause: flow
            .spec
            .first()
            .map(|c| format!("{} {}", c.doc, c.clause))
            .unwrap_or_default(),
        file: flow.file.clone(),
        transport: format!("{:?}", outcome.transport).to_uppercase(),
        duration_ms: format!("{:.1}", outcome.duration_us as f64 / 1000.0),
        reason: outcome.reason.clone(),
        sut_log: outcome.sut_log.clone(),
        branches: outcome.branches.clone(),
        failed: outcome
            .checks
            .iter()
            .filter(|c| c.outcome == Outcome::Fail && c.verdict() != Verdict::Pass)
            .map(check_view)
            .collect(),
        checks: outcome.checks.iter().map(check_view).collect(),
        ladder: ladder(&outcome.trace, &flow_anchor),
        figure: flow.figure.clone(),
        messages: outcome
            .trace
            .iter()
            .scan(HashMap::new(), |first_seen, e| {
                Some(message_view(e, &flow_anchor, first_seen))
            })
            .collect(),
    }
}

fn diff_lines(diff: &str) -> Vec<DiffLine> {
    diff.lines()
        .map(|line| DiffLine {
            class: match line.as_bytes().first() {
                Some(b'+') if !line.starts_with("+++") => "diff-add",
                Some(b'-') if !line.starts_with("---") => "diff-del",
                _ => "",
            },
            text: line.to_string(),
        })
        .collect()
}

/// Text cut to `MAX_SHOWN` bytes (on a character boundary), with a note when cut.
fn cut(text: &str) -> String {
    if text.len() <= MAX_SHOWN {
        return text.to_string();
    }
    let mut end = MAX_SHOWN;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}\n… ({} more bytes in run.json)",
        &text[..end],
        text.len() - end
    )
}

/// Columns in the order nodes first appear, the SUT (the peer of sent and received
/// messages) rightmost.
fn ladder(trace: &[TraceEntry], flow_anchor: &str) -> Ladder {
    let sut: Option<&str> = trace.iter().find_map(|e| match e.direction {
        Direction::Sent => Some(e.to_node.as_str()),
        Direction::Received => Some(e.from_node.as_str()),
        Direction::Internal => None,
    });
    let mut names: Vec<String> = Vec::new();
    for entry in trace {
        for name in [&entry.from_node, &entry.to_node] {
            if Some(name.as_str()) != sut && !names.contains(name) {
                names.push(name.clone());
            }
        }
    }
    if let Some(sut) = sut {
        names.push(sut.to_string());
    }
    let x_of = |name: &str| {
        MARGIN + COLUMN / 2 + COLUMN * names.iter().position(|n| n == name).unwrap_or(0)
    };
    let arrows = trace
        .iter()
        .enumerate()
        .map(|(row, entry)| {
            let (x1, x2) = (x_of(&entry.from_node), x_of(&entry.to_node));
            let y = 44 + row * ROW;
            let mut label: String = entry
                .spec_step
                .map(|step| format!("[{step}] "))
                .unwrap_or_default();
            label.extend(entry.summary.chars().take(48));
            if entry.summary.chars().count() > 48 {
                label.push('…');
            }
            Arrow {
                anchor: format!("{flow_anchor}-m{}", entry.seq),
                x1,
                x2,
                y,
                label_x: (x1 + x2) / 2,
                label,
                time: format!("{:.1} ms", entry.at_us as f64 / 1000.0),
                class: direction_name(entry.direction),
            }
        })
        .collect();
    Ladder {
        width: MARGIN + COLUMN * names.len().max(1),
        height: 44 + ROW * trace.len(),
        nodes: names
            .iter()
            .map(|n| LadderNode {
                name: n.clone(),
                x: x_of(n),
            })
            .collect(),
        arrows,
    }
}

fn direction_name(direction: Direction) -> &'static str {
    match direction {
        Direction::Sent => "sent",
        Direction::Received => "received",
        Direction::Internal => "internal",
    }
}

/// One message of the ladder's list. `first_seen` maps each body already shown indented to
/// the message that showed it: a body passed on unchanged from hop to hop is indented once.
fn message_view(
    entry: &TraceEntry,
    flow_anchor: &str,
    first_seen: &mut HashMap<Vec<u8>, usize>,
) -> MessageView {
    let (bodies, body_as_in) = match parsed_body(entry) {
        None => (Vec::new(), None),
        Some((content_type, body)) => match first_seen.get(&body) {
            Some(seq) => (Vec::new(), Some(*seq)),
            None => {
                let views = bodies(&content_type, &body);
                first_seen.insert(body, entry.seq);
                (views, None)
            }
        },
    };
    MessageView {
        anchor: format!("{flow_anchor}-m{}", entry.seq),
        seq: entry.seq,
        time: format!("{:.1} ms", entry.at_us as f64 / 1000.0),
        from: entry.from_node.clone(),
        to: entry.to_node.clone(),
        direction: direction_name(entry.direction),
        transport: entry.transport.name(),
        summary: entry.summary.clone(),
        note: entry.note.clone(),
        spec_step: entry.spec_step.map(|step| step.to_string()),
        text: cut(&entry.text),
        bodies,
        body_as_in,
    }
}

/// The Content-Type and body of a message that has a body.
fn parsed_body(entry: &TraceEntry) -> Option<(String, Vec<u8>)> {
    let msg = SipMessage::parse(&entry.raw()).ok()?;
    if msg.body.is_empty() {
        return None;
    }
    let content_type = msg.header("Content-Type").unwrap_or_default().to_string();
    Some((content_type, msg.body))
}

/// The body pretty-printed: XML indented, multipart split into its parts.
fn bodies(content_type: &str, body: &[u8]) -> Vec<BodyView> {
    match multipart::split(content_type, body) {
        Ok(parts) => parts
            .parts
            .iter()
            .enumerate()
            .map(|(i, part)| BodyView {
                title: format!(
                    "part {} ({})",
                    i + 1,
                    part.content_type().unwrap_or("no type")
                ),
                text: pretty(&part.body),
            })
            .collect(),
        Err(_) => vec![BodyView {
            title: format!("body ({content_type}), indented"),
            text: pretty(body),
        }],
    }
}

fn pretty(body: &[u8]) -> String {
    match xml::parse(body) {
        Ok(root) => cut(&root.to_canonical_string()),
        Err(_) => cut(&String::from_utf8_lossy(body)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::verdict::RequirementRef;
    use crate::flow::interp::FlowOutcome;
    use crate::flow::model::{Level, Requirement};
    use crate::net::{SpecStep, Transport};

    const HOSTILE: &str = "<script>document.title='pwned'</script>\"><img src=x onerror=alert(1)>";

    fn record() -> RunRecord {
        let entry = TraceEntry {
            seq: 0,
            at_us: 1500,
            direction: Direction::Received,
            from_node: "ps".into(),
            to_node: "scscf1".into(),
            from_addr: "127.0.0.1:5060".into(),
            to_addr: "127.0.0.1:5070".into(),
            transport: Transport::Udp,
            summary: format!("NOTIFY {HOSTILE}"),
            text: format!("NOTIFY sip:a SIP/2.0\r\nX-Evil: {HOSTILE}\r\n\r\n"),
            raw_base64: None,
            note: None,
            spec_step: None,
        };
        let check = CheckResult {
            step: "1".into(),
            check: "header X present".into(),
            requirement: RequirementRef {
                key: "k".into(),
                requirement: Requirement {
                    doc: "RFC 1".into(),
                    clause: "1".into(),
                    level: Level::Must,
                    text: "words".into(),
                },
            },
            outcome: Outcome::Fail,
            expected: "present".into(),
            actual: HOSTILE.into(),
            diff: Some(format!("--- a\n+++ b\n-x\n+{HOSTILE}")),
            message: Some(0),
            deviation: None,
        };
        let outcome = FlowOutcome {
            id: "A.1".into(),
            flow: "A.1".into(),
            transport: Transport::Udp,
            title: HOSTILE.into(),
            verdict: Verdict::Fail,
            reason: None,
            duration_us: 10,
            branches: Vec::new(),
            checks: vec![check],
            trace: vec![entry],
            sut_log: Some(HOSTILE.into()),
        };
        RunRecord {
            schema: super::super::record::SCHEMA.into(),
            run_id: "r".into(),
            started: "now".into(),
            harness_version: "0".into(),
            profile: serde_json::json!({ "name": HOSTILE, "description": "d" }),
            probe: "200 OK".into(),
            duration_us: 10,
            summary: [("fail".to_string(), 1)].into_iter().collect(),
            deviations: Default::default(),
            flows: vec![FlowRecord {
                file: "f.yaml".into(),
                spec: Vec::new(),
                figure: None,
                outcome,
            }],
        }
    }

    #[test]
    fn everything_from_the_sut_is_escaped() {
        let html = render(&record()).unwrap();
        assert!(
            !html.contains("<script>document.title"),
            "raw script from the SUT"
        );
        assert!(!html.contains("<img src=x"), "raw tag from the SUT");
        assert!(html.contains("&#60;script&#62;document.title"));
        assert_eq!(
            html.matches("<script>").count(),
            1,
            "only the page's own filter script"
        );
    }

    #[test]
    fn the_page_has_a_ladder_and_the_failure_diff() {
        let html = render(&record()).unwrap();
        assert!(
            html.contains("<svg") && html.contains("<line"),
            "ladder diagram"
        );
        assert!(html.contains("class=\"diff-add\""), "diff lines");
        assert!(
            html.contains("href=\"#flow-A-1-m0\"") && html.contains("id=\"flow-A-1-m0\""),
            "links to messages"
        );
    }
    #[test]
    fn spec_step_numbers_are_on_the_ladder_and_the_message() {
        let mut record = record();
        record.flows[0].figure = Some("Figure A.5.2.1-1, Release 17".into());
        record.flows[0].outcome.trace[0].spec_step = Some(SpecStep {
            number: 14,
            confirmed: false,
        });
        let html = render(&record).unwrap();
        assert!(html.contains(">[14*] NOTIFY"), "the arrow's label");
        assert!(html.contains("[step 14*] NOTIFY"), "the message's summary");
        assert!(
            html.contains("steps of Figure A.5.2.1-1, Release 17"),
            "the legend names the figure"
        );
    }
}
