//! The HTML report in a real browser: headless Chromium (Debian's `chromium`, which `.ci/run`
//! installs) opens the worked example's page from a file, with no network and an empty
//! profile. It must render without console errors, the funnel chart and every stage's label
//! and count must be in the rendered page, and a screenshot is kept under the test's output
//! folder (`target/tmp/report-browser/report.png`).
//!
//! Where `chromium` is not installed the test says so and passes, except under CI
//! (`CI` set), where a missing browser is a failure.

use std::path::Path;
use std::process::Command;

use crate::common::funnelc;

fn chromium(profile: &Path, args: &[&str]) -> std::process::Output {
    Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("run chromium")
}

#[test]
fn the_html_report_renders_in_a_real_browser() {
    if Command::new("chromium").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium is not installed: .ci/run installs it"
        );
        eprintln!("note: chromium is not installed here; the browser test did not run");
        return;
    }
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-browser");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(out.join("profile")).unwrap();
    let page = out.join("report.html");
    let (code, _, err) = funnelc(&[
        "report",
        "examples/heshbonit4u/heshbonit4u.funnel",
        "--leads",
        "examples/heshbonit4u/leads.jsonl",
        "--spend",
        "examples/heshbonit4u/spend.csv",
        "--from",
        "2025-03-01",
        "--to",
        "2025-03-31",
        "--as-of",
        "2025-06-30",
        "--format",
        "html",
        "-o",
        page.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let url = format!("file://{}", page.canonicalize().unwrap().display());

    // The DOM as rendered.
    let dom = chromium(&out.join("profile"), &["--dump-dom", &url]);
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let html = String::from_utf8_lossy(&dom.stdout);
    assert!(html.contains("id=\"funnel-chart\""), "no funnel chart");
    for (stage, count) in [
        ("MCL", "150"),
        ("MEL", "70"),
        ("MQL", "30"),
        ("SAL", "25"),
        ("SQL", "12"),
        ("SQO", "8"),
    ] {
        let label = format!(">{stage}</text>");
        assert!(html.contains(&label), "no label for {stage} in the chart");
        let bar = format!(">{count} · ");
        assert!(html.contains(&bar), "no count {count} in the chart");
    }
    let console = |stderr: &[u8]| -> Vec<String> {
        String::from_utf8_lossy(stderr)
            .lines()
            .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught"))
            .map(String::from)
            .collect()
    };
    assert_eq!(console(&dom.stderr), Vec::<String>::new());

    // A screenshot, kept for people to look at.
    let png = out.join("report.png");
    let shot = chromium(
        &out.join("profile"),
        &[
            "--window-size=1200,3000",
            &format!("--screenshot={}", png.display()),
            &url,
        ],
    );
    assert!(
        shot.status.success(),
        "{}",
        String::from_utf8_lossy(&shot.stderr)
    );
    assert_eq!(console(&shot.stderr), Vec::<String>::new());
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG"), "not a PNG");
    assert!(bytes.len() > 10_000, "the screenshot is nearly empty");
}
