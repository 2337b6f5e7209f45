//! Records the git commit the binary was built from, for `--version` and `build_info`.
use std::process::Command;

fn main() {
    let commit = std::env::var("TM_GIT_COMMIT")
        .ok()
        .or_else(|| {
            Command::new("git")
                .args(["rev-parse", "--short=12", "HEAD"])
                .output()
                .ok()
                .filter(|o| o.status.success())
                .and_then(|o| String::from_utf8(o.stdout).ok())
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=TM_GIT_COMMIT={commit}");
    println!("cargo:rerun-if-env-changed=TM_GIT_COMMIT");
    println!("cargo:rerun-if-changed=.git/HEAD");
    // A commit moves the branch HEAD points at, not HEAD itself: watch the branch too
    // (only paths that exist, or Cargo would rerun this script on every build).
    if let Ok(head) = std::fs::read_to_string(".git/HEAD") {
        if let Some(branch) = head.trim().strip_prefix("ref: ") {
            for path in [format!(".git/{branch}"), ".git/packed-refs".to_owned()] {
                if std::path::Path::new(&path).exists() {
                    println!("cargo:rerun-if-changed={path}");
                }
            }
        }
    }
    println!("cargo:rerun-if-changed=migrations");
}
