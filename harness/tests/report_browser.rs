//! The HTML report in a real browser (Debian's headless Chromium): a run against a reference
//! server that sends script and HTML markup as content must not run any of it, and the page
//! must show the ladder diagram and the failure diff. Also saves a screenshot. Without
//! `chromium` on PATH the test is ignored and the reason printed.

use libtest_mimic::{Arguments, Failed, Trial};
use presence_harness::sut::process::on_path;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs Chromium headless on `page` with `extra` arguments; returns its standard output.
fn chromium(page: &Path, extra: &[String]) -> Result<String, Failed> {
    let profile = std::env::temp_dir().join(format!(
        "presence-harness-chromium-{}",
        presence_harness::ids::token()
    ));
    let output = Command::new("chromium")
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--virtual-time-budget=3000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .map_err(|e| format!("cannot run chromium: {e}"))?;
    let _ = std::fs::remove_dir_all(&profile);
    if !output.status.success() {
        return Err(format!(
            "chromium failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Plays A.4 and A.5 against a reference server that sends markup and stale state.
fn hostile_report() -> Result<PathBuf, Failed> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("root")
        .to_path_buf();
    let reports = std::env::temp_dir().join(format!(
        "presence-harness-browser-{}",
        presence_harness::ids::token()
    ));
    let status = Command::new(env!("CARGO_BIN_EXE_presence-harness"))
        .arg("--root")
        .arg(&root)
        .args([
            "run",
            "--quiet",
            "--flow",
            "A.4",
            "--flow",
            "A.5",
            "--fault",
            "hostile-content",
            "--fault",
            "stale-notify-after-modify",
        ])
        .arg("--reports")
        .arg(&reports)
        .env("CI", "true")
        .status()
        .map_err(|e| format!("cannot run the harness: {e}"))?;
    if status.code() != Some(1) {
        return Err(format!("the broken server should fail the run (exit 1), got {status}").into());
    }
    std::fs::canonicalize(reports.join("latest/index.html"))
        .map_err(|e| format!("no index.html: {e}").into())
}

fn hostile_content_stays_text() -> Result<(), Failed> {
    let page = hostile_report()?;
    let dom = chromium(&page, &["--dump-dom".to_string()])?;
    let title = dom
        .split("<title>")
        .nth(1)
        .and_then(|t| t.split("</title>").next())
        .unwrap_or_default();
    if !title.starts_with("presence-harness:") || title.contains("pwned") {
        return Err(format!("a script ran or the title changed: {title:?}").into());
    }
    if dom.contains("<img src=\"x\"") || dom.contains("<img src=x") {
        return Err("markup from the SUT became an element".into());
    }
    for (what, needle) in [
        (
            "the SUT's markup shown as text",
            "&lt;script&gt;document.title='pwned'&lt;/script&gt;",
        ),
        ("a ladder diagram", "<svg"),
        ("a ladder arrow", "<line"),
        ("a broken requirement", "check-fail failure"),
        ("the failure diff", "diff-add"),
    ] {
        if !dom.contains(needle) {
            return Err(format!("the page lacks {what} ({needle:?})").into());
        }
    }
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report.png");
    chromium(
        &page,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,1600".to_string(),
        ],
    )?;
    let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    if size < 10_000 {
        return Err(format!("the screenshot {} is empty ({size} bytes)", shot.display()).into());
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let trial = Trial::test(
        "report::hostile-content-stays-text-in-chromium",
        hostile_content_stays_text,
    );
    let trial = if on_path("chromium") {
        trial
    } else {
        eprintln!("\n*** SKIPPED: chromium is not on PATH, so the HTML report is not checked in a browser. Install it with\n***   apt-get install chromium\n");
        trial.with_ignored_flag(true)
    };
    libtest_mimic::run(&args, vec![trial]).exit();
}
