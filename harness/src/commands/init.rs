//! `presence-harness init`: writes starter SUT profiles (a server's and a client's) and CI
//! jobs into the current folder.

use clap::Args;
use std::path::Path;

/// Arguments of `init`.
#[derive(Args)]
pub struct InitArgs {
    /// Replace files of these names that exist already.
    #[arg(long)]
    force: bool,
}

/// The files `init` writes: name and text.
const FILES: [(&str, &str); 4] = [
    ("presence-sut.yaml", include_str!("init/presence-sut.yaml")),
    ("presence-ue.yaml", include_str!("init/presence-ue.yaml")),
    (
        "presence-ci-github.yml",
        include_str!("init/presence-ci-github.yml"),
    ),
    (
        "presence-ci-gitlab.yml",
        include_str!("init/presence-ci-gitlab.yml"),
    ),
];

/// Writes the starter files into `dir`; an existing one is an error unless `--force`, and
/// then nothing is written.
pub fn init(dir: &Path, args: &InitArgs) -> Result<Vec<String>, String> {
    if !args.force {
        if let Some((name, _)) = FILES.iter().find(|(name, _)| dir.join(name).exists()) {
            return Err(format!(
                "{} exists; nothing written (--force replaces it)",
                dir.join(name).display()
            ));
        }
    }
    FILES
        .iter()
        .map(|(name, text)| {
            let path = dir.join(name);
            std::fs::write(&path, text)
                .map(|()| path.display().to_string())
                .map_err(|e| format!("cannot write {}: {e}", path.display()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_profile_that_loads_and_refuses_to_overwrite() {
        let dir = std::env::temp_dir().join(format!(
            "presence-harness-init-{}",
            presence_harness::ids::token()
        ));
        std::fs::create_dir_all(&dir).expect("temp folder");
        let written = init(&dir, &InitArgs { force: false }).expect("written");
        assert_eq!(written.len(), 4);
        let profile = presence_harness::sut::Profile::load(&dir.join("presence-sut.yaml"))
            .expect("the starter profile loads");
        assert_eq!(profile.name, "my-presence-server");
        let client = presence_harness::sut::Profile::load(&dir.join("presence-ue.yaml"))
            .expect("the starter UE profile loads");
        assert_eq!(client.role, presence_harness::sut::profile::SutRole::Ue);
        let again = init(&dir, &InitArgs { force: false }).expect_err("no overwrite");
        assert!(again.contains("presence-sut.yaml exists"), "{again}");
        init(&dir, &InitArgs { force: true }).expect("--force");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
