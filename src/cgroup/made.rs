//! What memsample makes and changes in its own cgroup, and how it undoes it
//! (docs/cgroups.md): it makes `memsample-PID` (with `sampler` and `job`
//! leaves when it is alone in its cgroup), may enable the memory controller
//! in its own cgroup's `cgroup.subtree_control`, and when it leaves it
//! removes what it made (and what the tree made inside it, once empty),
//! disables what it enabled and moves itself back where it was. Nothing else
//! is touched.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

use super::{CgroupError, Layout, MEMORY, Placement, failed, has_word, parse_populated};

/// How long a cgroup whose last process has just exited may stay busy: the
/// kernel releases an exited task's hold shortly after it is reaped.
const RELEASE_TRIES: u32 = 50;
const RELEASE_PAUSE: Duration = Duration::from_millis(10);

/// What is left once memsample has undone what it made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Left {
    /// The command's cgroup, kept because processes of the tree still run in
    /// it (or in a cgroup the tree made inside it): so that they stay inside
    /// memsample's cgroup, and the summary names it.
    pub(crate) kept: Option<PathBuf>,
    /// What could not be undone, one line each (`cannot … : reason`).
    pub(crate) errors: Vec<String>,
}

/// What memsample made and changed, to be undone when it leaves.
#[derive(Debug)]
pub(super) struct Made {
    /// memsample's own cgroup.
    own: PathBuf,
    /// `memsample-PID`, right inside it.
    top: PathBuf,
    /// The command's cgroup: `top` under the root, `top/job` in leaves.
    job: PathBuf,
    /// Where memsample moved itself (`top/sampler`), once it did.
    sampler: Option<PathBuf>,
    /// The memory controller was enabled in `own`'s `cgroup.subtree_control`
    /// by memsample.
    enabled_in_own: bool,
}

impl Made {
    pub(super) fn new(placement: &Placement, name: &str) -> Made {
        let top = placement.own.join(name);
        let job = match placement.layout {
            Layout::UnderRoot => top.clone(),
            Layout::Leaves => top.join("job"),
        };
        Made {
            own: placement.own.clone(),
            top,
            job,
            sampler: None,
            enabled_in_own: false,
        }
    }

    /// Makes the cgroups and gives them the memory controller; returns the
    /// command's cgroup. On failure, [`Made::undo`] undoes what was done.
    pub(super) fn build(&mut self, placement: &Placement) -> Result<PathBuf, CgroupError> {
        make_dir(&self.top)?;
        if placement.layout == Layout::UnderRoot {
            if placement.enable_memory {
                enable_memory(&self.own)?;
                self.enabled_in_own = true;
            }
            return Ok(self.top.clone());
        }
        let sampler = self.top.join("sampler");
        make_dir(&sampler)?;
        make_dir(&self.job)?;
        // memsample leaves its cgroup first: a cgroup other than the root
        // gives controllers to children only while it holds no process.
        let procs = sampler.join("cgroup.procs");
        fs::write(&procs, std::process::id().to_string()).map_err(failed(format!(
            "cannot move memsample into {}",
            sampler.display()
        )))?;
        self.sampler = Some(sampler);
        if placement.enable_memory {
            enable_memory(&self.own)?;
            self.enabled_in_own = true;
        }
        enable_memory(&self.top)?;
        Ok(self.job.clone())
    }

    /// Undoes it all as far as the tree allows: the command's cgroup and
    /// what the tree made in it are removed depth first where empty, kept
    /// where processes still run; the memory controller is disabled where
    /// memsample enabled it; memsample moves back into its own cgroup (it
    /// cannot remove one it is in) and removes its leaf and `memsample-PID`.
    /// Called again, it removes what was kept if it is empty by then.
    pub(super) fn undo(&mut self) -> Left {
        let mut left = Left::default();
        let job = self.job.clone();
        let job_stays = job.exists() && !remove_empty(&job, &mut left.errors);
        // Said to be kept only while processes run in it; a failure to
        // remove it otherwise is among the errors.
        if job_stays && is_populated(&job) {
            left.kept = Some(job.clone());
        }
        if let Some(sampler) = self.sampler.take() {
            // A job kept with processes holds on to the memory controller
            // only through its parents: give it up in `job` and
            // `memsample-PID` (both memsample's), so that memsample's own
            // cgroup can be restored.
            if job_stays {
                disable_memory(&job, &mut left.errors);
            }
            if self.top.exists() {
                disable_memory(&self.top, &mut left.errors);
            }
            self.restore_own(&mut left.errors);
            match self.move_back(&sampler) {
                Ok(()) => {
                    remove_settled(&sampler, &mut left.errors);
                }
                Err(err) => left.errors.push(format!(
                    "cannot move memsample back into {}: {}",
                    self.own.display(),
                    crate::console::reason::reason(&err)
                )),
            }
        } else {
            self.restore_own(&mut left.errors);
        }
        if !job_stays && self.top.exists() {
            remove_empty(&self.top, &mut left.errors);
        }
        left
    }

    /// memsample goes back into its own cgroup, and so does what it forked
    /// in its leaf (its guard, which may outlive it briefly), so that the
    /// leaf can be removed: nothing of the tree is ever there.
    fn move_back(&self, sampler: &Path) -> io::Result<()> {
        let back = self.own.join("cgroup.procs");
        let own = std::process::id();
        fs::write(&back, own.to_string())?;
        let forked = fs::read_to_string(sampler.join("cgroup.procs")).unwrap_or_default();
        for pid in forked
            .split_whitespace()
            .filter(|pid| *pid != own.to_string())
        {
            // One that has just exited is gone from the leaf anyway.
            let _ = fs::write(&back, pid);
        }
        Ok(())
    }

    /// memsample's own `cgroup.subtree_control` as it was read: the memory
    /// controller disabled again if memsample enabled it.
    fn restore_own(&mut self, errors: &mut Vec<String>) {
        if std::mem::replace(&mut self.enabled_in_own, false) {
            disable_memory(&self.own, errors);
        }
    }
}

impl Drop for Made {
    /// Paths that return early (an output that cannot be opened, a command
    /// that cannot start) still leave memsample's cgroup as they found it.
    fn drop(&mut self) {
        let _ = self.undo();
    }
}

/// `mkdir`; a cgroup of the same name left by an earlier memsample of the
/// same pid that was killed is removed first if it is empty.
fn make_dir(path: &Path) -> Result<(), CgroupError> {
    let what = || format!("cannot create cgroup {}", path.display());
    match fs::create_dir(path) {
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
            if !remove_empty(path, &mut Vec::new()) {
                return Err(failed(what())(err));
            }
            fs::create_dir(path).map_err(failed(what()))
        }
        other => other.map_err(failed(what())),
    }
}

fn enable_memory(dir: &Path) -> Result<(), CgroupError> {
    let control = dir.join("cgroup.subtree_control");
    fs::write(&control, format!("+{MEMORY}")).map_err(failed(format!(
        "cannot enable the memory controller in {}",
        control.display()
    )))
}

/// Disables the memory controller in `dir`'s `cgroup.subtree_control` if it
/// is enabled there.
fn disable_memory(dir: &Path, errors: &mut Vec<String>) {
    let control = dir.join("cgroup.subtree_control");
    let enabled = fs::read_to_string(&control).is_ok_and(|text| has_word(&text, MEMORY));
    if enabled && let Err(err) = fs::write(&control, format!("-{MEMORY}")) {
        errors.push(format!(
            "cannot restore {}: {}",
            control.display(),
            crate::console::reason::reason(&err)
        ));
    }
}

/// Removes `dir` and the cgroups inside it, deepest first, each one only if
/// no process is left in it (the kernel refuses a populated cgroup, so a
/// process starting in between is never lost track of). Whether `dir` is
/// gone.
fn remove_empty(dir: &Path, errors: &mut Vec<String>) -> bool {
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                remove_empty(&entry.path(), errors);
            }
        }
    }
    remove_settled(dir, errors)
}

/// `rmdir`, tried again for a short while when the cgroup is empty but the
/// kernel still holds it for a process just reaped. Whether it is gone; a
/// cgroup with processes in it (`populated` of `cgroup.events`, which counts
/// the cgroups inside it too) is kept without a word, any other failure is
/// said.
fn remove_settled(dir: &Path, errors: &mut Vec<String>) -> bool {
    let mut tries = 0;
    loop {
        let err = match fs::remove_dir(dir) {
            Ok(()) => return true,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return true,
            Err(err) => err,
        };
        if is_populated(dir) {
            return false;
        }
        tries += 1;
        if err.raw_os_error() != Some(libc::EBUSY) || tries >= RELEASE_TRIES {
            errors.push(format!(
                "cannot remove cgroup {}: {}",
                dir.display(),
                crate::console::reason::reason(&err)
            ));
            return false;
        }
        thread::sleep(RELEASE_PAUSE);
    }
}

/// `populated` of `cgroup.events`: processes in the cgroup or in a cgroup
/// inside it.
fn is_populated(dir: &Path) -> bool {
    fs::read_to_string(dir.join("cgroup.events"))
        .ok()
        .and_then(|text| parse_populated(&text))
        == Some(true)
}

/// A cgroup memsample only opened: removed if empty, with what is in it.
pub(super) fn remove_opened(path: &Path) -> Left {
    let mut left = Left::default();
    if !remove_empty(path, &mut left.errors) && is_populated(path) {
        left.kept = Some(path.to_path_buf());
    }
    left
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Directories stand for cgroups; a `cgroup.events` file says whether
    /// one is populated (a real one is checked in the VMs, `tests/vm/`).
    fn cgroup(path: &Path, populated: Option<bool>) {
        fs::create_dir_all(path).expect("dir");
        if let Some(populated) = populated {
            let events = format!("populated {}\nfrozen 0\n", u8::from(populated));
            fs::write(path.join("cgroup.events"), events).expect("events");
        }
    }

    #[test]
    fn what_the_tree_made_inside_is_removed_deepest_first() {
        let dir = tempfile::tempdir().expect("temp dir");
        let job = dir.path().join("job");
        cgroup(&job.join("inner/deeper"), None);
        cgroup(&job.join("other"), None);
        assert_eq!(remove_opened(&job), Left::default());
        assert!(!job.exists());
    }

    #[test]
    fn a_populated_cgroup_is_kept_and_the_empty_ones_beside_it_go() {
        let dir = tempfile::tempdir().expect("temp dir");
        let job = dir.path().join("job");
        cgroup(&job, Some(true));
        cgroup(&job.join("running"), Some(true));
        cgroup(&job.join("done/deeper"), None);
        let left = remove_opened(&job);
        assert_eq!(
            left,
            Left {
                kept: Some(job.clone()),
                errors: Vec::new(),
            }
        );
        assert!(job.join("running").exists());
        assert!(!job.join("done").exists());
    }

    #[test]
    fn an_empty_cgroup_that_cannot_be_removed_is_said_not_kept() {
        // Not populated, yet not removable: no "still run" claim, an error.
        let dir = tempfile::tempdir().expect("temp dir");
        let job = dir.path().join("job");
        cgroup(&job, Some(false));
        let left = remove_opened(&job);
        assert_eq!(left.kept, None);
        assert_eq!(left.errors.len(), 1, "{left:?}");
        assert!(
            left.errors[0].starts_with(&format!("cannot remove cgroup {}: ", job.display())),
            "{left:?}"
        );
    }
}
