//! Where a run's flows and fixtures come from: a project folder on disk (a checkout, or a
//! vendor's own), or the copy built into the binary, written out once to a cache folder, so that
//! the binary copied anywhere runs the whole suite with no checkout. `--flows` and `--fixtures`
//! take either part from another folder.

use include_dir::{include_dir, Dir};
use std::path::{Path, PathBuf};

/// The flows the binary was built with.
static FLOWS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../flows");
/// The fixtures the binary was built with: bodies, SUT profiles, the requirement catalogue,
/// the coverage inventories, snapshots.
static FIXTURES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../fixtures");
/// A digest of the built-in files (build.rs), naming their cache folder.
const BUILT_DIGEST: &str = env!("PRESENCE_HARNESS_FILES_DIGEST");

/// The folder a run reads `flows/` and `fixtures/` from.
#[derive(Debug)]
pub struct Project {
    /// The folder holding `flows` and `fixtures`.
    pub root: PathBuf,
    /// True when the files are the built-in copy (no checkout found).
    pub built_in: bool,
    /// An overlay folder this process made for `--flows`/`--fixtures`, removed on drop.
    overlay: Option<PathBuf>,
}

impl Drop for Project {
    fn drop(&mut self) {
        if let Some(overlay) = &self.overlay {
            // The overlay holds only symbolic links, which removal does not follow.
            let _ = std::fs::remove_dir_all(overlay);
        }
    }
}

/// True when `dir` holds a project: `flows/` and `fixtures/`.
fn is_project(dir: &Path) -> bool {
    dir.join("flows").is_dir() && dir.join("fixtures").is_dir()
}

/// Chooses the project: `root` if given, else the current folder when it holds `flows/` and
/// `fixtures/`, else the built-in copy. `flows` and `fixtures` replace that part.
pub fn resolve(
    root: Option<&Path>,
    flows: Option<&Path>,
    fixtures: Option<&Path>,
) -> Result<Project, String> {
    let cwd = std::env::current_dir().map_err(|e| format!("no current folder: {e}"))?;
    let (base, built_in) = match root {
        Some(root) if is_project(root) => (root.to_path_buf(), false),
        Some(root) => {
            return Err(format!(
                "--root {}: no flows/ and fixtures/ there",
                root.display()
            ))
        }
        None if is_project(&cwd) => (cwd.clone(), false),
        None => (built_in_root()?, true),
    };
    if flows.is_none() && fixtures.is_none() {
        return Ok(Project {
            root: base,
            built_in,
            overlay: None,
        });
    }
    let part = |given: Option<&Path>, name: &str| -> Result<PathBuf, String> {
        match given {
            Some(dir) if dir.is_dir() => Ok(cwd.join(dir)),
            Some(dir) => Err(format!("--{name} {}: not a folder", dir.display())),
            None => Ok(base.join(name)),
        }
    };
    let (flows, fixtures) = (part(flows, "flows")?, part(fixtures, "fixtures")?);
    let overlay = std::env::temp_dir().join(format!(
        "presence-harness-{}-{}",
        std::process::id(),
        crate::ids::token()
    ));
    let linked = std::fs::create_dir_all(&overlay)
        .and_then(|()| std::os::unix::fs::symlink(&flows, overlay.join("flows")))
        .and_then(|()| std::os::unix::fs::symlink(&fixtures, overlay.join("fixtures")));
    let project = Project {
        root: overlay.clone(),
        built_in,
        overlay: Some(overlay),
    };
    linked.map_err(|e| format!("cannot link the --flows/--fixtures folders: {e}"))?;
    Ok(project)
}

/// The built-in files written out under the user's cache folder (once per build of them).
fn built_in_root() -> Result<PathBuf, String> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    let dir = cache
        .join("presence-harness")
        .join(format!("{}-{BUILT_DIGEST}", env!("CARGO_PKG_VERSION")));
    if dir.join(COMPLETE).is_file() {
        return Ok(dir);
    }
    write_out(&dir).map_err(|e| {
        format!(
            "cannot write the built-in flows and fixtures to {}: {e}",
            dir.display()
        )
    })?;
    Ok(dir)
}

/// Marks a cache folder whose files are all written.
const COMPLETE: &str = ".complete";

/// Writes the built-in files into a fresh folder beside `dir`, then renames it to `dir`: a
/// process that finds `dir` finds it whole. Another process that got there first wins.
fn write_out(dir: &Path) -> std::io::Result<()> {
    let parent = dir.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let fresh = parent.join(format!(
        ".partial-{}-{}",
        std::process::id(),
        crate::ids::token()
    ));
    let written = FLOWS
        .extract(fresh.join("flows"))
        .and_then(|()| FIXTURES.extract(fresh.join("fixtures")))
        .and_then(|()| std::fs::write(fresh.join(COMPLETE), BUILT_DIGEST));
    let placed = written.and_then(|()| std::fs::rename(&fresh, dir));
    if placed.is_err() {
        let _ = std::fs::remove_dir_all(&fresh);
    }
    match placed {
        Err(_) if dir.join(COMPLETE).is_file() => Ok(()),
        other => other,
    }
}

/// The path of a shipped SUT profile named `name` (`kamailio` for
/// `fixtures/suts/kamailio.yaml`), when `given` is a bare name and no such file exists here.
pub fn profile_path(root: &Path, given: &Path) -> PathBuf {
    let bare = given.components().count() == 1 && given.extension().is_none();
    if bare && !given.exists() {
        root.join("fixtures/suts")
            .join(given)
            .with_extension("yaml")
    } else {
        given.to_path_buf()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_copy_holds_the_flows_and_the_catalogue() {
        assert!(FLOWS.get_file("A.4/A.4.2.1-publish.yaml").is_some());
        assert!(FIXTURES.get_file("requirements.yaml").is_some());
        assert!(FIXTURES.get_file("suts/reference.yaml").is_some());
    }

    #[test]
    fn written_out_once_and_whole() {
        let dir = std::env::temp_dir()
            .join(format!("presence-harness-test-{}", crate::ids::token()))
            .join("copy");
        write_out(&dir).expect("written");
        assert!(dir.join("flows/A.4/A.4.2.1-publish.yaml").is_file());
        assert!(dir.join("fixtures/requirements.yaml").is_file());
        // A second writer finds the folder whole and leaves it.
        write_out(&dir).expect("second writer");
        let _ = std::fs::remove_dir_all(dir.parent().expect("parent"));
    }

    #[test]
    fn a_bare_profile_name_is_a_shipped_profile() {
        let root = Path::new("/p");
        assert_eq!(
            profile_path(root, Path::new("kamailio")),
            Path::new("/p/fixtures/suts/kamailio.yaml")
        );
        assert_eq!(
            profile_path(root, Path::new("my.yaml")),
            Path::new("my.yaml")
        );
        assert_eq!(profile_path(root, Path::new("suts/x")), Path::new("suts/x"));
    }
}
